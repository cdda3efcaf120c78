"""Run a batch job: split the input, drive the workers, account for every file.

The parent process never imports the scoring script. It starts
`max_concurrency_per_instance` worker processes, hands each a mini-batch at a time,
kills a worker whose mini-batch outlives `timeout` (then starts a new one, which
runs `init()` again), retries failed mini-batches up to `max_retries` times, and
aborts once more than `error_threshold` input files have failed.

Each successful mini-batch's rows go to a part file in a hidden folder inside the
output folder; at the end the parts are joined, in input order, into
`output_file_name`. Every input file ends up in exactly one of: the output (its
mini-batch succeeded), the failure report (its mini-batch failed every try, or was
never run because the job aborted).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Literal

from amlkit_runtime.batch.inputs import list_input_files, split_mini_batches
from amlkit_runtime.batch.output import (
    concatenate_atomically,
    write_json_atomically,
    write_jsonl_atomically,
)
from amlkit_runtime.batch.settings import (
    FAILURES_FILE_NAME,
    SUMMARY_FILE_NAME,
    BatchInputError,
    BatchSettings,
)
from amlkit_runtime.batch.worker import WorkerConfig, worker_main

log = logging.getLogger("amlkit.batch")

INCOMPLETE_SUFFIX = ".incomplete"
Status = Literal["succeeded", "aborted"]


class BatchJobError(RuntimeError):
    """The job could not run at all (`init()` failed); nothing was written."""


@dataclass
class BatchSummary:
    """What a finished (or aborted) job did. Also written as JSON next to the output.

    `elapsed_seconds` runs from the start of the job to the summary; `scoring_seconds`
    from the first worker's `init()` done to the last mini-batch done, so it leaves
    out process start-up, imports and model loading.
    """

    status: Status
    message: str
    input: str
    output_folder: str
    output_file: str | None
    failure_report: str
    files: int
    files_succeeded: int
    files_failed: int
    files_not_processed: int
    mini_batches: int
    mini_batches_succeeded: int
    mini_batches_failed: int
    rows: int
    failed_items: int
    retries: int
    timeouts: int
    worker_restarts: int
    elapsed_seconds: float
    rows_per_second: float
    scoring_seconds: float
    scoring_rows_per_second: float
    started_at: str
    finished_at: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class _MiniBatch:
    index: int
    files: list[Path]
    tries: int = 0
    errors: list[str] = field(default_factory=list)
    rows: int | None = None  # set when it succeeded
    failed: bool = False


@dataclass
class _Worker:
    slot: int
    process: BaseProcess
    conn: Connection
    ready: bool = False
    batch: _MiniBatch | None = None
    deadline: float = 0.0


@dataclass
class _Counters:
    retries: int = 0
    timeouts: int = 0
    restarts: int = 0
    failed_items: int = 0
    first_ready: float | None = None  # monotonic time the first worker finished init()
    last_done: float | None = None


def run_batch(settings: BatchSettings) -> BatchSummary:
    """Run one batch job. Raises `BatchInputError` on bad input before writing anything,
    `BatchJobError` if `init()` fails before any mini-batch ran.

    The returned summary has status `aborted` when more than `error_threshold` files
    failed; then the rows of the mini-batches that did succeed are kept in
    `<output_file_name>.incomplete`, never under the final name.
    """
    started = time.monotonic()
    started_at = datetime.now(UTC)
    files = list_input_files(settings.input)
    _check_entry_script(settings)
    if settings.model_dir is not None and not settings.model_dir.is_dir():
        raise BatchInputError(
            f"model_dir {str(settings.model_dir)!r} is not a folder: give the folder "
            "that holds the model files (AZUREML_MODEL_DIR)"
        )
    _prepare_output(settings)
    batches = [
        _MiniBatch(i, chunk)
        for i, chunk in enumerate(split_mini_batches(files, settings.mini_batch_size))
    ]
    parts = Path(tempfile.mkdtemp(prefix=".amlkit-batch-", dir=settings.output))
    try:
        counters = _Counters()
        abort_reason = _drive(settings, batches, parts, counters)
        return _finish(settings, batches, parts, counters, abort_reason, started, started_at)
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _check_entry_script(settings: BatchSettings) -> None:
    script = settings.entry_script
    if settings.app_root is not None and not script.is_absolute():
        script = settings.app_root / script
    if not script.is_file():
        raise BatchInputError(
            f"entry_script {str(script)!r} is not a file: give the path of a score.py "
            "that defines init() and run(mini_batch)"
        )


def _output_names(settings: BatchSettings) -> list[str]:
    name = settings.output_file_name
    return [name, name + INCOMPLETE_SUFFIX, SUMMARY_FILE_NAME, FAILURES_FILE_NAME]


def _prepare_output(settings: BatchSettings) -> None:
    out = settings.output
    if out.exists() and not out.is_dir():
        raise BatchInputError(f"output {str(out)!r} is a file: give a folder")
    for name in _output_names(settings):
        if (out / name).exists():
            raise BatchInputError(
                f"output folder {str(out)!r} already holds {name} from an earlier run: "
                "refusing to overwrite it; give a new --output folder"
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchInputError(
            f"output folder {str(out)!r} cannot be created ({exc.strerror}): give a writable folder"
        ) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BatchInputError(f"output folder {str(out)!r} is not writable: give a writable folder")


def _start_worker(settings: BatchSettings, slot: int) -> _Worker:
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    environment = dict(settings.environment_variables)
    if settings.model_dir is not None:
        environment["AZUREML_MODEL_DIR"] = str(settings.model_dir.resolve())
    # Azure ML batch jobs tell scripts where to write their own files through this.
    environment["AZUREML_BI_OUTPUT_PATH"] = str(settings.output.resolve())
    config = WorkerConfig(
        worker_id=slot,
        entry_script=str(settings.entry_script),
        app_root=str(settings.app_root) if settings.app_root is not None else None,
        log_level=settings.log_level,
        environment=environment,
    )
    process = ctx.Process(
        target=worker_main, args=(child_end, config), name=f"amlkit-batch-worker-{slot}"
    )
    process.start()
    child_end.close()  # so that the parent sees EOF when the worker dies
    return _Worker(slot=slot, process=process, conn=parent_end)


def _stop_worker(worker: _Worker, *, kill: bool) -> None:
    if not kill:
        with contextlib.suppress(OSError):
            worker.conn.send(("stop",))
        worker.process.join(timeout=5)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(timeout=5)
    worker.conn.close()


def _drive(
    settings: BatchSettings, batches: list[_MiniBatch], parts: Path, counters: _Counters
) -> str | None:
    """Run every mini-batch; return why the job aborted, or None."""
    pending: deque[_MiniBatch] = deque(batches)
    count = min(settings.max_concurrency_per_instance, len(batches))
    workers = [_start_worker(settings, slot) for slot in range(count)]
    any_ready = False

    def fail_try(worker: _Worker, error: str) -> str | None:
        batch = worker.batch
        assert batch is not None
        worker.batch = None
        batch.errors.append(error)
        if batch.tries < settings.max_tries:
            counters.retries += 1
            log.warning(
                "mini-batch %d (try %d of %d) failed: %s; retrying",
                batch.index,
                batch.tries,
                settings.max_tries,
                error,
            )
            pending.append(batch)
            return None
        batch.failed = True
        counters.failed_items += len(batch.files)
        log.error(
            "mini-batch %d failed after %d tries (%d files): %s",
            batch.index,
            batch.tries,
            len(batch.files),
            error,
        )
        return _threshold_crossed(settings, counters)

    def replace(worker: _Worker) -> None:
        _stop_worker(worker, kill=True)
        counters.restarts += 1
        workers[worker.slot] = _start_worker(settings, worker.slot)

    try:
        while pending or any(w.batch is not None for w in workers):
            for worker in workers:
                if worker.ready and worker.batch is None and pending:
                    batch = pending.popleft()
                    batch.tries += 1
                    worker.batch = batch
                    worker.deadline = time.monotonic() + settings.timeout
                    part = str(parts / f"{batch.index:08d}.part")
                    worker.conn.send(
                        (
                            "run",
                            batch.index,
                            [str(f) for f in batch.files],
                            part if settings.output_action == "append_row" else None,
                        )
                    )
            deadlines = [w.deadline for w in workers if w.batch is not None]
            wait_for = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            readable = wait([w.conn for w in workers], timeout=wait_for)
            for worker in list(workers):
                if worker.conn in readable:
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):
                        message = ("exited",)
                    kind = message[0]
                    if kind == "ready":
                        if not any_ready:  # logged now, so that bad input stays one line
                            log.info(
                                "%d input files in %d mini-batches of up to %d; "
                                "%d worker process(es)",
                                sum(len(b.files) for b in batches),
                                len(batches),
                                settings.mini_batch_size,
                                len(workers),
                            )
                        worker.ready = any_ready = True
                        if counters.first_ready is None:
                            counters.first_ready = time.monotonic()
                        log.debug("worker %d ready", worker.slot)
                    elif kind == "done":
                        done = worker.batch
                        assert done is not None
                        done.rows = int(message[2])
                        worker.batch = None
                        log.debug(
                            "mini-batch %d done: %d rows for %d files",
                            done.index,
                            done.rows,
                            len(done.files),
                        )
                        if done.rows < len(done.files):
                            # Azure ML counts items run() did not return as failures.
                            counters.failed_items += len(done.files) - done.rows
                            reason = _threshold_crossed(settings, counters)
                            if reason:
                                return reason
                    elif kind == "failed":
                        reason = fail_try(worker, str(message[2]))
                        if reason:
                            return reason
                    elif kind == "load_error":
                        raise BatchInputError(str(message[1]))
                    elif kind == "init_error" or not worker.ready:
                        why = message[1] if kind == "init_error" else _exit_text(worker)
                        if not any_ready:
                            raise BatchJobError(
                                f"init() of {str(settings.entry_script)!r} failed: {why}"
                            )
                        return f"a restarted worker's init() failed: {why}"
                    else:  # the worker died while it held a mini-batch, or while idle
                        if worker.batch is not None:
                            reason = fail_try(worker, f"worker process died ({_exit_text(worker)})")
                            replace(worker)
                            if reason:
                                return reason
                        else:
                            replace(worker)
            now = time.monotonic()
            for worker in list(workers):
                if worker.batch is not None and now >= worker.deadline:
                    counters.timeouts += 1
                    error = f"TimeoutError: run() took more than {settings.timeout:g} s"
                    reason = fail_try(worker, error)
                    replace(worker)
                    if reason:
                        return reason
        return None
    finally:
        counters.last_done = time.monotonic()
        for worker in workers:
            _stop_worker(worker, kill=worker.batch is not None or not worker.ready)


def _exit_text(worker: _Worker) -> str:
    worker.process.join(timeout=5)
    code = worker.process.exitcode
    if code is None:
        return "its pipe closed"
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def _threshold_crossed(settings: BatchSettings, counters: _Counters) -> str | None:
    limit = settings.error_threshold
    if limit != -1 and counters.failed_items > limit:
        return f"{counters.failed_items} failed items exceed error_threshold {limit}"
    return None


def _finish(
    settings: BatchSettings,
    batches: list[_MiniBatch],
    parts: Path,
    counters: _Counters,
    abort_reason: str | None,
    started: float,
    started_at: datetime,
) -> BatchSummary:
    out = settings.output
    succeeded = [b for b in batches if b.rows is not None]
    failed = [b for b in batches if b.failed]
    not_run = [b for b in batches if b.rows is None and not b.failed]
    output_file: Path | None = None
    if settings.output_action == "append_row":
        name = settings.output_file_name + (INCOMPLETE_SUFFIX if abort_reason else "")
        output_file = out / name
        part_files = (parts / f"{b.index:08d}.part" for b in succeeded)
        concatenate_atomically([p for p in part_files if p.exists()], output_file)
    failures: list[dict[str, Any]] = []
    for batch in failed:
        for file in batch.files:
            failures.append(
                {
                    "file": str(file),
                    "mini_batch": batch.index,
                    "tries": batch.tries,
                    "error": batch.errors[-1],
                    "errors": batch.errors,
                }
            )
    for batch in not_run:
        for file in batch.files:
            failures.append(
                {
                    "file": str(file),
                    "mini_batch": batch.index,
                    "tries": batch.tries,
                    "error": f"not processed: the job aborted ({abort_reason})",
                    "errors": batch.errors,
                }
            )
    for batch in succeeded:
        assert batch.rows is not None
        if batch.rows < len(batch.files):
            failures.append(
                {
                    "files": [str(f) for f in batch.files],
                    "mini_batch": batch.index,
                    "tries": batch.tries,
                    "error": (
                        f"run() returned {batch.rows} rows for {len(batch.files)} files: "
                        f"{len(batch.files) - batch.rows} items count as failed"
                    ),
                    "errors": batch.errors,
                }
            )
    failure_report = out / FAILURES_FILE_NAME
    write_jsonl_atomically(failure_report, failures)

    elapsed = time.monotonic() - started
    rows = sum(b.rows or 0 for b in succeeded)
    first, last = counters.first_ready, counters.last_done
    scoring = last - first if first is not None and last is not None else 0.0
    status: Status = "aborted" if abort_reason else "succeeded"
    summary = BatchSummary(
        status=status,
        message=abort_reason or "all mini-batches ran",
        input=str(settings.input),
        output_folder=str(out),
        output_file=str(output_file) if output_file else None,
        failure_report=str(failure_report),
        files=sum(len(b.files) for b in batches),
        files_succeeded=sum(len(b.files) for b in succeeded),
        files_failed=sum(len(b.files) for b in failed),
        files_not_processed=sum(len(b.files) for b in not_run),
        mini_batches=len(batches),
        mini_batches_succeeded=len(succeeded),
        mini_batches_failed=len(failed),
        rows=rows,
        failed_items=counters.failed_items,
        retries=counters.retries,
        timeouts=counters.timeouts,
        worker_restarts=counters.restarts,
        elapsed_seconds=round(elapsed, 3),
        rows_per_second=round(rows / elapsed, 1) if elapsed > 0 else 0.0,
        scoring_seconds=round(scoring, 3),
        scoring_rows_per_second=round(rows / scoring, 1) if scoring > 0 else 0.0,
        started_at=started_at.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        settings=_settings_dict(settings),
    )
    # Last, so that a summary on disk means the job finished and its files are complete.
    write_json_atomically(out / SUMMARY_FILE_NAME, asdict(summary))
    return summary


def _settings_dict(settings: BatchSettings) -> dict[str, Any]:
    raw = asdict(settings)
    raw["environment_variables"] = sorted(settings.environment_variables)  # names only
    return {k: str(v) if isinstance(v, Path) else v for k, v in raw.items()}
