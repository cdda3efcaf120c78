"""Run a batch job: check the input, split it, let the scheduler drive the workers, write up.

The runner never imports the scoring script: its worker processes do (pool.py), driven
by the scheduler (scheduler.py) with the typed messages of messages.py. Each successful
mini-batch's rows go to a part file in a hidden folder inside the output folder; at the
end the parts are joined, in input order, into `output_file_name`, and the failure
report and summary are written (summary.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from amlkit_runtime.batch.inputs import list_input_files, split_mini_batches
from amlkit_runtime.batch.scheduler import BatchJobError, Scheduler
from amlkit_runtime.batch.settings import (
    FAILURES_FILE_NAME,
    SUMMARY_FILE_NAME,
    BatchInputError,
    BatchSettings,
)
from amlkit_runtime.batch.summary import (
    INCOMPLETE_SUFFIX,
    BatchSummary,
    Counters,
    MiniBatch,
    write_results,
)

__all__ = ["BatchJobError", "BatchSummary", "run_batch"]


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
        MiniBatch(i, chunk)
        for i, chunk in enumerate(split_mini_batches(files, settings.mini_batch_size))
    ]
    parts = Path(tempfile.mkdtemp(prefix=".amlkit-batch-", dir=settings.output))
    try:
        counters = Counters()
        abort_reason = Scheduler(settings, batches, parts, counters).run()
        return write_results(
            settings,
            batches,
            parts,
            counters,
            abort_reason,
            time.monotonic() - started,
            started_at,
        )
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


def _prepare_output(settings: BatchSettings) -> None:
    out = settings.output
    if out.exists() and not out.is_dir():
        raise BatchInputError(f"output {str(out)!r} is a file: give a folder")
    name = settings.output_file_name
    for existing in (name, name + INCOMPLETE_SUFFIX, SUMMARY_FILE_NAME, FAILURES_FILE_NAME):
        if (out / existing).exists():
            raise BatchInputError(
                f"output folder {str(out)!r} already holds {existing} from an earlier run: "
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
