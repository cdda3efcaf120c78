"""Calling run() off the event loop, with a deadline, and the per-instance request limit.

run() is synchronous user code. It runs in a small thread pool (one thread by
default, see `ServeSettings.scoring_threads`) so that the event loop keeps
answering health probes, metrics and 429s while every worker is busy scoring;
azmlinfsrv's sync workers queue a probe behind the scoring requests instead.

A run() that outlives its deadline cannot be stopped (threads cannot be killed and
SIGALRM only works on the main thread): the caller gets its 500 at the deadline,
and the request keeps its concurrency slot until run() really returns, so that
429s keep reflecting the work the instance is actually doing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing.synchronize
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ScoringTimeout(Exception):
    """The deadline passed before run() returned."""


class Runner:
    """Submits calls to the scoring threads and waits for them with a deadline."""

    def __init__(self, threads: int) -> None:
        self.executor = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="amlkit-run")

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Start `fn` in a scoring thread; an asyncio future of its result."""
        return asyncio.wrap_future(self.executor.submit(fn))

    async def call(
        self, fn: Callable[[], T], timeout_s: float, on_late_finish: Callable[[], None] | None = None
    ) -> T:
        """`fn()` in a scoring thread; ScoringTimeout after `timeout_s`.

        After a timeout, `on_late_finish` runs (on the loop) once `fn` has returned or
        was dropped from the queue before it started.
        """
        return await wait_with_deadline(self.executor.submit(fn), timeout_s, on_late_finish)

    def shutdown(self) -> None:
        """Let queued calls finish; no new ones."""
        self.executor.shutdown(wait=False)


async def wait_with_deadline(
    future: concurrent.futures.Future[T] | asyncio.Future[T],
    timeout_s: float,
    on_late_finish: Callable[[], None] | None = None,
) -> T:
    """Await `future` for at most `timeout_s`; see `Runner.call`. The future is never cancelled
    by the wait unless it had not started yet (a queued concurrent future)."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def finished(result: Any) -> None:
        if waiter.done():
            if on_late_finish is not None:
                on_late_finish()
            return
        if result.cancelled():
            waiter.set_exception(ScoringTimeout())
        elif (exc := result.exception()) is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(result.result())

    if isinstance(future, concurrent.futures.Future):
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(finished, f))
    else:
        future.add_done_callback(finished)

    def expire() -> None:
        if not waiter.done():
            waiter.set_exception(ScoringTimeout())
            if isinstance(future, concurrent.futures.Future):
                future.cancel()  # only succeeds while still queued

    handle = loop.call_later(timeout_s, expire)
    try:
        return await waiter
    finally:
        handle.cancel()


class Limiter:
    """At most N /score requests in progress on the instance (all workers): the rest get 429.

    Backed by a semaphore shared by the worker processes (created by the supervisor
    before it forks them); None means no limit. The try-acquire never waits: a full
    instance answers at once instead of growing a queue.
    """

    def __init__(self, semaphore: multiprocessing.synchronize.Semaphore | None) -> None:
        self._semaphore = semaphore

    def try_acquire(self) -> bool:
        """Take a slot if one is free."""
        return self._semaphore is None or self._semaphore.acquire(block=False)

    def release(self) -> None:
        """Give a slot back."""
        if self._semaphore is not None:
            self._semaphore.release()
