"""`amlkit-batch`: run an Azure ML batch scoring script over files on this machine.

Options carry the names and defaults of a batch deployment's `settings:` (CLI v2
YAML). argparse, not typer: the runtime image installs this package alone and
stays small. Exit codes: 0 the job ran (failures within `error_threshold` are
reported, not fatal), 1 the job aborted or `init()` failed, 2 bad input (a
setting, a path, the scoring script), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import NoReturn

from amlkit_runtime.batch.runner import BatchJobError, BatchSummary, run_batch
from amlkit_runtime.batch.settings import (
    LOGGING_LEVELS,
    OUTPUT_ACTIONS,
    BatchInputError,
    BatchSettings,
)

PROG = "amlkit-batch"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line (no usage dump) with exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see {PROG} --help)\n")


def _int(minimum: int, note: str = "") -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}{note}, got {text!r}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE, got {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    """The command line, with Azure ML's defaults."""
    p = _Parser(
        prog=PROG,
        description=(
            "Run an Azure ML batch scoring script (init() once per worker, "
            "run(mini_batch) on lists of file paths) over a folder of files."
        ),
    )
    env = os.environ.get
    p.add_argument(
        "--entry_script",
        default=env("AZUREML_ENTRY_SCRIPT"),
        help="score.py defining init() and run(mini_batch) [env AZUREML_ENTRY_SCRIPT]; "
        "a relative path is taken under AML_APP_ROOT when that is set, else under the "
        "current folder",
    )
    p.add_argument(
        "--model_dir",
        default=env("AZUREML_MODEL_DIR"),
        help="folder of the model, passed to the script as AZUREML_MODEL_DIR "
        "[env AZUREML_MODEL_DIR]",
    )
    p.add_argument("--input", required=True, help="a folder (all files, recursively) or a file")
    p.add_argument("--output", required=True, help="output folder; must not hold earlier results")
    p.add_argument("--mini_batch_size", type=_int(1), default=10, help="files per run() (10)")
    p.add_argument(
        "--max_concurrency_per_instance",
        type=_int(1),
        default=1,
        help="worker processes, each running init() once (1)",
    )
    p.add_argument(
        "--error_threshold",
        type=_int(-1, " (-1 ignores all failures)"),
        default=-1,
        help="failed input files tolerated before the job aborts; -1 ignores all (-1)",
    )
    p.add_argument(
        "--max_retries",
        type=_int(0),
        default=3,
        help="retries of a failed or timed-out mini-batch (3)",
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        help="seconds one run() may take before its worker is killed and the try fails (30)",
    )
    p.add_argument(
        "--output_action",
        choices=OUTPUT_ACTIONS,
        default="append_row",
        help="append_row: rows into output_file_name; summary_only: counts only (append_row)",
    )
    p.add_argument(
        "--output_file_name",
        default="predictions.csv",
        help="file of the appended rows, in the output folder (predictions.csv)",
    )
    p.add_argument(
        "--logging_level",
        type=str.lower,
        choices=LOGGING_LEVELS,
        default="info",
        help="log level of the runner and the workers, to stderr (info)",
    )
    p.add_argument(
        "--environment_variable",
        "-e",
        dest="environment_variables",
        action="append",
        type=_env_pair,
        default=[],
        metavar="KEY=VALUE",
        help="set in every worker before the script loads (repeatable)",
    )
    p.add_argument(
        "--summary_format",
        choices=("table", "json"),
        default="table",
        help="how the job summary is printed to stdout (table)",
    )
    return p


def format_table(summary: BatchSummary) -> str:
    """The summary as a plain two-column table."""
    rows: list[tuple[str, str]] = [
        ("status", summary.status),
        ("message", summary.message),
        ("files", str(summary.files)),
        ("files succeeded", str(summary.files_succeeded)),
        ("files failed", str(summary.files_failed)),
        ("files not processed", str(summary.files_not_processed)),
        ("mini-batches", f"{summary.mini_batches_succeeded}/{summary.mini_batches} succeeded"),
        ("rows", str(summary.rows)),
        ("failed items", str(summary.failed_items)),
        ("retries", str(summary.retries)),
        ("timeouts", str(summary.timeouts)),
        ("elapsed", f"{summary.elapsed_seconds:.2f} s"),
        ("rows/s", f"{summary.rows_per_second:,.0f}"),
        (
            "scoring",
            f"{summary.scoring_seconds:.2f} s after init ({summary.scoring_rows_per_second:,.0f} rows/s)",
        ),
        ("output", summary.output_file or "(summary_only)"),
        ("failure report", summary.failure_report),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # `docker stop`: clean up the workers like Ctrl-C does


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run, print the summary; return the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.logging_level.upper()),
        format="%(asctime)s amlkit-batch %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    app_root = os.environ.get("AML_APP_ROOT")
    try:
        if not args.entry_script:
            raise BatchInputError(
                "entry_script is not set: give --entry_script or AZUREML_ENTRY_SCRIPT"
            )
        # As azmlinfsrv: a relative entry script is taken under AML_APP_ROOT when that is
        # set; otherwise under the current folder, and its own folder is the app root.
        script = Path(args.entry_script)
        if not script.is_absolute():
            script = Path(app_root, script) if app_root else Path.cwd() / script
        settings = BatchSettings(
            entry_script=script,
            model_dir=Path(args.model_dir) if args.model_dir else None,
            app_root=Path(app_root) if app_root else script.parent,
            input=Path(args.input),
            output=Path(args.output),
            mini_batch_size=args.mini_batch_size,
            max_concurrency_per_instance=args.max_concurrency_per_instance,
            error_threshold=args.error_threshold,
            max_retries=args.max_retries,
            timeout=args.timeout,
            output_action=args.output_action,
            output_file_name=args.output_file_name,
            logging_level=args.logging_level,
            environment_variables=dict(args.environment_variables),
        )
        signal.signal(signal.SIGTERM, _on_sigterm)
        summary = run_batch(settings)
    except BatchInputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except BatchJobError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; workers stopped, no output written", file=sys.stderr)
        return 130
    if args.summary_format == "json":
        print(json.dumps(asdict(summary), indent=2))
    else:
        print(format_table(summary))
    if summary.status != "succeeded":
        print(f"{PROG}: error: job aborted: {summary.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
