"""A stack's batch deployment invoked on this machine over local files, as
`az ml batch-endpoint invoke --input` runs it on the cluster.

The runner is the scoring image's own `amlkit-batch`, with the deployment's
`settings:` (mini_batch_size, max_concurrency_per_instance, error_threshold,
retry_settings, output_action, output_file_name, logging_level,
environment_variables) and AZUREML_MODEL_DIR laid out as on Azure. One instance,
whatever `resources.instance_count` says. Each invocation writes to a new job
folder, as Azure does, unless `--output` names one (which must hold no results).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from amlkit.specs import BatchDeploymentSpec

from .layout import LocalDeployment, lay_out_model


def job_folder(workdir: Path, endpoint: str, now: datetime | None = None) -> Path:
    """A new output folder for one invocation: `<workdir>/jobs/<endpoint>-<UTC time>`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S-%f")
    return workdir / "jobs" / f"{endpoint}-{stamp}"


def batch_command(
    deployment: LocalDeployment,
    spec: BatchDeploymentSpec,
    model_dir: Path,
    input_path: Path,
    output: Path,
) -> list[str]:
    """The amlkit-batch command line that runs `spec` with its settings."""
    settings = spec.settings
    command = [
        sys.executable,
        "-m",
        "amlkit_runtime.batch.cli",
        "--entry_script",
        str(deployment.code_dir / deployment.scoring_script),
        "--model_dir",
        str(model_dir),
        "--input",
        str(input_path),
        "--output",
        str(output),
        "--mini_batch_size",
        str(settings.mini_batch_size),
        "--max_concurrency_per_instance",
        str(settings.max_concurrency_per_instance),
        "--error_threshold",
        str(settings.error_threshold),
        "--max_retries",
        str(settings.retry_settings.max_retries),
        "--timeout",
        str(settings.retry_settings.timeout),
        "--output_action",
        settings.output_action,
        "--output_file_name",
        settings.output_file_name,
        "--logging_level",
        settings.logging_level,
    ]
    for key, value in deployment.variables.items():
        command += ["--environment_variable", f"{key}={value}"]
    return command


def run_batch_job(
    deployment: LocalDeployment,
    spec: BatchDeploymentSpec,
    workdir: Path,
    input_path: Path,
    output: Path,
) -> int:
    """Run the job with this terminal's output; amlkit-batch's exit code (0 ran, 1 aborted
    or init() failed, 2 bad input, 130 interrupted)."""
    model_dir = lay_out_model(
        deployment, workdir / "models" / deployment.endpoint / deployment.name
    )
    command = batch_command(deployment, spec, model_dir, input_path, output)
    return subprocess.call(command, cwd=deployment.code_dir, stdin=subprocess.DEVNULL)
