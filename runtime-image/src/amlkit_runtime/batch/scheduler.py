"""Driving the workers: hand out mini-batches, read their answers, retry, restart, abort.

A worker takes one mini-batch at a time. A failed try is retried (up to `max_retries`);
a worker whose mini-batch outlives `timeout` is killed and replaced (the new one runs
init() again), and so is one that dies. The job aborts once more than `error_threshold`
input files have failed. The first worker's failing init() (or a script that does not
load) stops the job before any mini-batch ran.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from multiprocessing.connection import wait
from pathlib import Path

from amlkit_runtime.batch.messages import (
    FromWorker,
    InitFailed,
    LoadFailed,
    MiniBatchDone,
    MiniBatchFailed,
    Ready,
    RunMiniBatch,
    WorkerExited,
)
from amlkit_runtime.batch.pool import WorkerHandle, start_worker
from amlkit_runtime.batch.settings import BatchInputError, BatchSettings
from amlkit_runtime.batch.summary import Counters, MiniBatch

log = logging.getLogger("amlkit.batch")


class BatchJobError(RuntimeError):
    """The job could not run at all (`init()` failed); nothing was written."""


class _Abort(Exception):
    """The job stops here; the message says why (it goes into the summary)."""


class Scheduler:
    """One job's mini-batches over `max_concurrency_per_instance` workers."""

    def __init__(
        self, settings: BatchSettings, batches: list[MiniBatch], parts: Path, counters: Counters
    ) -> None:
        self.settings = settings
        self.batches = batches
        self.parts = parts
        self.counters = counters
        self.pending: deque[MiniBatch] = deque(batches)
        self.workers: list[WorkerHandle] = []
        self.any_ready = False

    def run(self) -> str | None:
        """Run every mini-batch; why the job aborted, or None."""
        count = min(self.settings.max_concurrency_per_instance, len(self.batches))
        self.workers = [start_worker(self.settings, slot) for slot in range(count)]
        try:
            while self.pending or any(w.batch is not None for w in self.workers):
                self._hand_out()
                deadlines = [w.deadline for w in self.workers if w.batch is not None]
                wait_for = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                readable = wait([w.conn for w in self.workers], timeout=wait_for)
                for worker in list(self.workers):
                    if worker.conn in readable:
                        self._on_message(worker, worker.receive())
                self._expire(time.monotonic())
            return None
        except _Abort as abort:
            return str(abort)
        finally:
            self.counters.last_done = time.monotonic()
            for worker in self.workers:
                worker.stop(kill=worker.batch is not None or not worker.ready)

    def _hand_out(self) -> None:
        settings = self.settings
        for worker in self.workers:
            if worker.ready and worker.batch is None and self.pending:
                batch = self.pending.popleft()
                batch.tries += 1
                worker.batch = batch
                worker.deadline = time.monotonic() + settings.timeout
                part = batch.part(self.parts) if settings.output_action == "append_row" else None
                files = tuple(str(f) for f in batch.files)
                worker.send(RunMiniBatch(batch.index, files, str(part) if part else None))

    def _on_message(self, worker: WorkerHandle, message: FromWorker) -> None:
        match message:
            case Ready():
                self._ready(worker)
            case MiniBatchDone(rows=rows):
                self._done(worker, rows)
            case MiniBatchFailed(error=error):
                self._fail_try(worker, error)
            case LoadFailed(message=text):
                raise BatchInputError(text)
            case InitFailed() | WorkerExited() if not worker.ready:
                why = message.message if isinstance(message, InitFailed) else worker.exit_text()
                if not self.any_ready:
                    raise BatchJobError(
                        f"init() of {str(self.settings.entry_script)!r} failed: {why}"
                    )
                raise _Abort(f"a restarted worker's init() failed: {why}")
            case _:  # the worker died while it held a mini-batch, or while idle
                if worker.batch is not None:
                    error = f"worker process died ({worker.exit_text()})"
                    self._replace(worker)
                    self._fail_try(worker, error)
                else:
                    self._replace(worker)

    def _ready(self, worker: WorkerHandle) -> None:
        if not self.any_ready:  # logged now, so that bad input stays one line
            log.info(
                "%d input files in %d mini-batches of up to %d; %d worker process(es)",
                sum(len(b.files) for b in self.batches),
                len(self.batches),
                self.settings.mini_batch_size,
                len(self.workers),
            )
        worker.ready = self.any_ready = True
        if self.counters.first_ready is None:
            self.counters.first_ready = time.monotonic()
        log.debug("worker %d ready", worker.slot)

    def _done(self, worker: WorkerHandle, rows: int) -> None:
        done = worker.batch
        assert done is not None
        done.rows = rows
        worker.batch = None
        log.debug("mini-batch %d done: %d rows for %d files", done.index, rows, len(done.files))
        if rows < len(done.files):
            # Azure ML counts items run() did not return as failures.
            self.counters.failed_items += len(done.files) - rows
            self._check_threshold()

    def _expire(self, now: float) -> None:
        for worker in list(self.workers):
            if worker.batch is not None and now >= worker.deadline:
                self.counters.timeouts += 1
                error = f"TimeoutError: run() took more than {self.settings.timeout:g} s"
                self._replace(worker)
                self._fail_try(worker, error)

    def _fail_try(self, worker: WorkerHandle, error: str) -> None:
        """The try of `worker`'s mini-batch failed: retry it, or count its files as failed."""
        batch = worker.batch
        assert batch is not None
        worker.batch = None
        batch.errors.append(error)
        max_tries = self.settings.max_tries
        if batch.tries < max_tries:
            self.counters.retries += 1
            log.warning(
                "mini-batch %d (try %d of %d) failed: %s; retrying",
                batch.index,
                batch.tries,
                max_tries,
                error,
            )
            self.pending.append(batch)
            return
        batch.failed = True
        self.counters.failed_items += len(batch.files)
        log.error(
            "mini-batch %d failed after %d tries (%d files): %s",
            batch.index,
            batch.tries,
            len(batch.files),
            error,
        )
        self._check_threshold()

    def _replace(self, worker: WorkerHandle) -> None:
        """Kill `worker` and start a new one in its slot (it runs init() again)."""
        worker.stop(kill=True)
        self.counters.restarts += 1
        self.workers[worker.slot] = start_worker(self.settings, worker.slot)

    def _check_threshold(self) -> None:
        limit = self.settings.error_threshold
        failed = self.counters.failed_items
        if limit != -1 and failed > limit:
            raise _Abort(f"{failed} failed items exceed error_threshold {limit}")
