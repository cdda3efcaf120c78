"""What a batch job did: the records kept while it runs, and the files it leaves at the end.

Every input file ends up in exactly one of: the output (its mini-batch succeeded), the
failure report (its mini-batch failed every try, or was never run because the job
aborted). The summary is written last, so that a summary on disk means the job finished
and its files are complete.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from amlkit_runtime.batch.output import (
    concatenate_atomically,
    write_json_atomically,
    write_jsonl_atomically,
)
from amlkit_runtime.batch.settings import FAILURES_FILE_NAME, SUMMARY_FILE_NAME, BatchSettings

INCOMPLETE_SUFFIX = ".incomplete"
Status = Literal["succeeded", "aborted"]


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
class MiniBatch:
    """One mini-batch and what became of it."""

    index: int
    files: list[Path]
    tries: int = 0
    errors: list[str] = field(default_factory=list)
    rows: int | None = None  # set when it succeeded
    failed: bool = False

    def part(self, parts: Path) -> Path:
        """Where its rows are written before the parts are joined."""
        return parts / f"{self.index:08d}.part"


@dataclass
class Counters:
    """Job-wide counts, and the times `scoring_seconds` runs between."""

    retries: int = 0
    timeouts: int = 0
    restarts: int = 0
    failed_items: int = 0
    first_ready: float | None = None  # monotonic time the first worker finished init()
    last_done: float | None = None


def write_results(
    settings: BatchSettings,
    batches: list[MiniBatch],
    parts: Path,
    counters: Counters,
    abort_reason: str | None,
    elapsed: float,
    started_at: datetime,
) -> BatchSummary:
    """Join the parts into the output file, write the failure report, then the summary."""
    out = settings.output
    succeeded = [b for b in batches if b.rows is not None]
    failed = [b for b in batches if b.failed]
    not_run = [b for b in batches if b.rows is None and not b.failed]
    output_file: Path | None = None
    if settings.output_action == "append_row":
        output_file = out / (
            settings.output_file_name + (INCOMPLETE_SUFFIX if abort_reason else "")
        )
        concatenate_atomically(
            [p for p in (b.part(parts) for b in succeeded) if p.exists()], output_file
        )
    failure_report = out / FAILURES_FILE_NAME
    write_jsonl_atomically(failure_report, _failures(failed, not_run, succeeded, abort_reason))
    rows = sum(b.rows or 0 for b in succeeded)
    first, last = counters.first_ready, counters.last_done
    scoring = last - first if first is not None and last is not None else 0.0
    summary = BatchSummary(
        status="aborted" if abort_reason else "succeeded",
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
    write_json_atomically(out / SUMMARY_FILE_NAME, asdict(summary))
    return summary


def _failures(
    failed: list[MiniBatch],
    not_run: list[MiniBatch],
    succeeded: list[MiniBatch],
    abort_reason: str | None,
) -> list[dict[str, Any]]:
    """One record a failed or unprocessed file; one a mini-batch that returned too few rows."""
    records: list[dict[str, Any]] = []
    for batch in failed:
        for file in batch.files:
            records.append(
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
            records.append(
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
            records.append(
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
    return records


def _settings_dict(settings: BatchSettings) -> dict[str, Any]:
    raw = asdict(settings)
    raw["environment_variables"] = sorted(settings.environment_variables)  # names only
    return {k: str(v) if isinstance(v, Path) else v for k, v in raw.items()}
