"""Calling run() off the event loop, with a deadline, and the per-instance request limit.

run() is synchronous user code. It runs in dedicated scoring threads (one by default,
see `ServeSettings.scoring_threads`) so that the event loop keeps answering health
probes, metrics and 429s while every worker is busy scoring; azmlinfsrv's sync
workers queue a probe behind the scoring requests instead.

The hand-off is kept cheap, because at 1-row requests it is a visible share of a
request's cost: jobs go to the threads through a `queue.SimpleQueue`, and finished
jobs come back through a deque that the loop drains in one callback (one
`call_soon_threadsafe` wakes the loop for every job finished meanwhile), instead of
a `ThreadPoolExecutor` future and a cross-thread callback per job. The two threads
also share the cores without preempting each other at every wake-up (sched.py): each
scoring thread starts by taking back the scheduling policy the loop thread gave up.

A run() that outlives its deadline cannot be stopped (threads cannot be killed and
SIGALRM only works on the main thread): the caller gets its 500 at the deadline,
and the request keeps its concurrency slot until run() really returns (or, if it
had not started yet, is dropped from the queue), so that 429s keep reflecting the
work the instance is actually doing.
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing.synchronize
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from amlkit_runtime.serve import sched

T = TypeVar("T")


class ScoringTimeout(Exception):
    """The deadline passed before run() returned."""


class _Job(Generic[T]):
    """One call for a scoring thread, and what the loop needs when it is over."""

    __slots__ = ("dropped", "fn", "ok", "on_late_finish", "timed_out", "timer", "value", "waiter")

    def __init__(
        self,
        fn: Callable[[], T],
        waiter: asyncio.Future[T],
        on_late_finish: Callable[[], None] | None,
    ) -> None:
        self.fn = fn
        self.waiter = waiter
        self.timer: asyncio.TimerHandle | None = None
        self.timed_out = False
        self.on_late_finish = on_late_finish
        self.dropped = False  # set by the loop after a timeout: do not start it
        self.ok = False
        self.value: Any = None


_STOP = object()


class Runner:
    """Scoring threads of one worker; calls are submitted from the event loop."""

    def __init__(self, threads: int) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._finished: collections.deque[_Job[Any]] = collections.deque()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads = [
            threading.Thread(target=self._work, name=f"amlkit-run_{index}", daemon=True)
            for index in range(threads)
        ]
        self._started = False

    def _start(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        self._loop = loop
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()
        return loop

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Start `fn` in a scoring thread; an asyncio future of its result."""
        loop = self._loop or self._start()
        job: _Job[T] = _Job(fn, loop.create_future(), None)
        self._jobs.put(job)
        return job.waiter

    async def call(
        self,
        fn: Callable[[], T],
        timeout_s: float,
        on_late_finish: Callable[[], None] | None = None,
    ) -> T:
        """`fn()` in a scoring thread; ScoringTimeout after `timeout_s`.

        After a timeout, `on_late_finish` runs (on the loop) once `fn` has returned or
        was dropped from the queue before it started.
        """
        loop = self._loop or self._start()
        job: _Job[T] = _Job(fn, loop.create_future(), on_late_finish)
        job.timer = loop.call_later(timeout_s, _expire, job)
        self._jobs.put(job)
        try:
            return await job.waiter
        finally:
            job.timer.cancel()

    def shutdown(self) -> None:
        """Let queued calls finish; no new ones."""
        for _ in self._threads:
            self._jobs.put(_STOP)

    # -- in the scoring threads -------------------------------------------------------

    def _work(self) -> None:
        sched.restore_in_scoring_thread()  # created by the loop thread: not its SCHED_BATCH
        jobs, finished = self._jobs, self._finished
        while True:
            job = jobs.get()
            if job is _STOP:
                return
            if not job.dropped:
                try:
                    job.value = job.fn()
                    job.ok = True
                except Exception as exc:  # handed to the awaiting request: a 500
                    job.value = exc
                except BaseException as exc:  # SystemExit in run() must not stop the worker's loop
                    job.value = RuntimeError(f"run() raised {type(exc).__name__}: {exc}")
            finished.append(job)
            if not self._wake_pending:
                self._wake_pending = True
                try:
                    self._loop.call_soon_threadsafe(self._drain)  # type: ignore[union-attr]
                except RuntimeError:  # the loop is closed: the process is exiting
                    return

    # -- back on the loop ----------------------------------------------------------------

    def _drain(self) -> None:
        # Cleared before draining: a job appended after this line schedules another drain.
        self._wake_pending = False
        finished = self._finished
        while finished:
            job = finished.popleft()
            waiter = job.waiter
            if job.timed_out:
                if job.on_late_finish is not None:
                    job.on_late_finish()
            elif waiter.done():  # the awaiting request was cancelled
                pass
            elif job.ok:
                waiter.set_result(job.value)
            else:
                waiter.set_exception(job.value)


def _expire(job: _Job[Any]) -> None:
    if not job.waiter.done():
        job.timed_out = True
        job.dropped = True  # only matters while still queued
        job.waiter.set_exception(ScoringTimeout())


async def wait_with_deadline(
    future: asyncio.Future[T],
    timeout_s: float,
    on_late_finish: Callable[[], None] | None = None,
) -> T:
    """Await `future` for at most `timeout_s`; see `Runner.call`. The future is not cancelled."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def finished(result: asyncio.Future[T]) -> None:
        if waiter.done():
            if on_late_finish is not None and not waiter.cancelled():
                on_late_finish()
            return
        if result.cancelled():
            waiter.set_exception(ScoringTimeout())
        elif (exc := result.exception()) is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(result.result())

    future.add_done_callback(finished)

    def expire() -> None:
        if not waiter.done():
            waiter.set_exception(ScoringTimeout())

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
