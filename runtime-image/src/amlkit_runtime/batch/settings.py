"""The settings of a batch job, with Azure ML's names and defaults.

Names and defaults follow a CLI v2 `batchDeployment`'s `settings:` block
(`model_batch_deployment_settings.py` in azure-ai-ml): `mini_batch_size` 10,
`max_concurrency_per_instance` 1, `error_threshold` -1, `retry_settings` 3 retries
and a 30 s timeout, `output_action` append_row, `output_file_name` predictions.csv,
`logging_level` info.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

OutputAction = Literal["append_row", "summary_only"]
OUTPUT_ACTIONS: tuple[OutputAction, ...] = ("append_row", "summary_only")
# Azure ML accepts these three (ARM `Info`/`Warning`/`Debug`); `error` is also taken
# here because it is what a quiet CI job wants and Python logging has it.
LOGGING_LEVELS = ("debug", "info", "warning", "error")

SUMMARY_FILE_NAME = "amlkit_batch_summary.json"
FAILURES_FILE_NAME = "amlkit_batch_failures.jsonl"


class BatchInputError(ValueError):
    """Bad input to a batch job: a setting, a path or the scoring script.

    The message is one line that names the setting or file, what is wrong and what
    is allowed. The CLI prints it and exits with code 2.
    """


@dataclass(frozen=True)
class BatchSettings:
    """One batch job. Every field has Azure ML's default.

    `timeout` is seconds per mini-batch (`retry_settings.timeout`): a `run()` that
    takes longer has its worker process killed, and the mini-batch counts as one
    failed try. `max_retries` is how many times a failed or timed-out mini-batch is
    tried again, so a mini-batch is tried at most `max_retries + 1` times.
    `error_threshold` is the number of failed input files tolerated before the job
    aborts; -1 tolerates any number.
    """

    entry_script: Path
    input: Path
    output: Path
    model_dir: Path | None = None
    app_root: Path | None = None
    mini_batch_size: int = 10
    max_concurrency_per_instance: int = 1
    error_threshold: int = -1
    max_retries: int = 3
    timeout: float = 30
    output_action: OutputAction = "append_row"
    output_file_name: str = "predictions.csv"
    logging_level: str = "info"
    environment_variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _at_least("mini_batch_size", self.mini_batch_size, 1)
        _at_least("max_concurrency_per_instance", self.max_concurrency_per_instance, 1)
        _at_least("error_threshold", self.error_threshold, -1, note=" (-1 ignores all failures)")
        _at_least("max_retries", self.max_retries, 0)
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float):
            raise BatchInputError(f"timeout must be a number of seconds > 0, got {self.timeout!r}")
        if not self.timeout > 0:
            raise BatchInputError(f"timeout must be a number of seconds > 0, got {self.timeout!r}")
        if self.output_action not in OUTPUT_ACTIONS:
            raise BatchInputError(
                f"output_action must be one of {', '.join(OUTPUT_ACTIONS)}, "
                f"got {self.output_action!r}"
            )
        name = self.output_file_name
        if (
            not name
            or name in (".", "..")
            or "/" in name
            or (os.sep != "/" and os.sep in name)
            or name in (SUMMARY_FILE_NAME, FAILURES_FILE_NAME)
        ):
            raise BatchInputError(
                "output_file_name must be a plain file name (no folder), other than "
                f"{SUMMARY_FILE_NAME} and {FAILURES_FILE_NAME}, got {name!r}"
            )
        if self.logging_level.lower() not in LOGGING_LEVELS:
            raise BatchInputError(
                f"logging_level must be one of {', '.join(LOGGING_LEVELS)}, "
                f"got {self.logging_level!r}"
            )
        for key, value in self.environment_variables.items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise BatchInputError(
                    f"environment_variables: {key!r} is not a valid variable name "
                    "(non-empty, no '=' and no NUL)"
                )

    @property
    def log_level(self) -> int:
        """The `logging` level number of `logging_level`."""
        level: int = getattr(logging, self.logging_level.upper())
        return level

    @property
    def max_tries(self) -> int:
        """How many times one mini-batch may run: the first try plus the retries."""
        return self.max_retries + 1


def _at_least(name: str, value: object, minimum: int, note: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BatchInputError(f"{name} must be an integer >= {minimum}{note}, got {value!r}")
