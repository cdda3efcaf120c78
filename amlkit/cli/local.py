"""`amlkit local serve` and `amlkit local batch`: a stack's endpoints run on this machine
by the scoring runtime, as Azure would run them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from amlkit.specs import ConfigError, PipelineBatchDeploymentSpec

from .common import EXIT_INTERNAL, ProjectOption, StackOption, err, fail, fail_config, out

app = typer.Typer(
    help="Run a stack's endpoints on this machine, as Azure would: [bold]serve[/] its online "
    "endpoints, or invoke a [bold]batch[/] endpoint over local files. No cloud, no containers.",
    # For one release after the split: where amlkit 0.1's form went (`local` itself takes
    # no options; see the commit that split it for why it does not guess `serve`).
    epilog="[bold]amlkit local --stack S[/] of amlkit 0.1 is now [bold]amlkit local serve --stack S[/].",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

# The scoring runtime (runtime-image/, not on PyPI) and the endpoint fronts' HTTP stack.
_SERVE_NEEDS = ("amlkit_runtime", "httpx", "uvicorn")
MAX_REQUEST_BYTES = 100 << 20
"""`--request` files: amlkit-serve's default body limit (AMLKIT_MAX_BODY_BYTES, 100 MiB)."""


@app.command()
def serve(
    stack: StackOption,
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint", "-e", help="Serve only this online endpoint (repeatable). Default: all."
        ),
    ] = None,
    port: Annotated[
        int,
        typer.Option(
            "--port",
            "-p",
            min=0,
            max=65535,
            help="Port of the first endpoint; the next ones take the following ports. "
            "0: any free ports.",
        ),
    ] = 8080,
    request: Annotated[
        Path | None,
        typer.Option(
            "--request",
            "-r",
            help="Once up, POST this file to every endpoint's /score and show the answers "
            "(as [bold]az ml online-endpoint invoke --request-file[/]).",
        ),
    ] = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Stop as soon as everything is up (and the request answered): a smoke test. "
            "Exit 1 if a deployment fails to start or the request gets no 2xx.",
        ),
    ] = False,
    start_timeout: Annotated[
        float,
        typer.Option("--start-timeout", min=1, help="Seconds a deployment's init() may take."),
    ] = 120.0,
    project_dir: ProjectOption = None,
) -> None:
    """Serve a stack's online endpoints on this machine, as Azure would route them.

    Each deployment with a local model and scoring script runs in the runtime image's
    server ([bold]amlkit-serve[/]), with its environment variables and request settings,
    and AZUREML_MODEL_DIR laid out as on Azure. Each endpoint answers on 127.0.0.1 and
    routes by its [bold]traffic[/] and [bold]mirror_traffic[/], or to the deployment named
    in the [bold]azureml-model-deployment[/] header. Logs go to .amlkit/local/<stack>/logs/.
    Serves until Ctrl-C; in-flight requests finish.
    """
    missing = [m for m in _SERVE_NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise fail(
            f"amlkit local serve needs {', '.join(missing)}: "
            "pip install './runtime-image' 'amlkit[local]' (make setup installs both)",
            EXIT_INTERNAL,
        )
    from amlkit.local.layout import LocalModeError
    from amlkit.local.mode import LocalOptions, run_local
    from amlkit.specs.loader import read_bytes
    from amlkit.specs.project import find_project

    try:  # a regular file under the server's own body limit (AMLKIT_MAX_BODY_BYTES)
        body = read_bytes(request, limit=MAX_REQUEST_BYTES) if request is not None else None
    except ConfigError as error:
        raise fail(f"--request {error}") from None
    options = LocalOptions(
        stack=stack,
        endpoints=tuple(endpoint or ()),
        port=port,
        request=body,
        request_name=str(request) if request is not None else "",
        once=once,
        start_timeout_s=start_timeout,
    )
    try:
        code = run_local(find_project(project_dir), options, out, err)
    except ConfigError as error:
        raise fail_config(error) from None
    except LocalModeError as error:
        raise fail(str(error)) from None
    raise typer.Exit(code)


@app.command()
def batch(
    stack: StackOption,
    input_path: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            exists=True,
            help="A folder (all its files, recursively) or one file to score.",
        ),
    ],
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint", "-e", help="Batch endpoint to invoke. Default: the stack's only one."
        ),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option(
            "--deployment", "-d", help="Deployment to run. Default: the endpoint's default."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Output folder; must hold no earlier results. "
            "Default: a new one under .amlkit/local/<stack>/jobs/.",
        ),
    ] = None,
    project_dir: ProjectOption = None,
) -> None:
    """Invoke a stack's batch endpoint on this machine over local files.

    Runs the deployment's scoring script in the runtime image's batch runner
    ([bold]amlkit-batch[/]) with its [bold]settings[/]: mini_batch_size,
    max_concurrency_per_instance, error_threshold, retry_settings, output_action and
    output_file_name, as [bold]az ml batch-endpoint invoke --input[/] runs it on the
    cluster. Prints the job summary; exits with the runner's code (0 ran, 1 aborted or
    init() failed, 2 bad input, 130 interrupted).

    A pipeline-component deployment ([bold]type: pipeline[/]) runs its python command
    steps here in order, [bold]--input[/] bound to the pipeline's data input (exit 0
    every step ran, 1 a step failed), or is refused in one line saying why.
    """
    if importlib.util.find_spec("amlkit_runtime") is None:
        raise fail(
            "amlkit local batch needs the scoring runtime: "
            "pip install './runtime-image' (make setup installs it)",
            EXIT_INTERNAL,
        )
    if not (input_path.is_dir() or input_path.is_file()):
        raise fail(f"--input {input_path}: is neither a folder nor a regular file")
    from amlkit.local.batch import job_folder, run_batch_job
    from amlkit.local.layout import (
        LocalModeError,
        find_batch_deployment,
        local_batch_deployment,
    )
    from amlkit.local.mode import workdir
    from amlkit.specs import load_stack_spec
    from amlkit.specs.project import find_project

    try:
        project = find_project(project_dir)
        spec = load_stack_spec(project.stacks_dir, stack)
        endpoint_name, found = find_batch_deployment(spec, endpoint, deployment)
        if isinstance(found, PipelineBatchDeploymentSpec):
            folder = workdir(project, stack)
            target = output if output is not None else job_folder(folder, endpoint_name)
            raise typer.Exit(_run_pipeline(endpoint_name, found, input_path, target))
        local, deployment_spec = local_batch_deployment(spec, endpoint, deployment)
    except ConfigError as error:
        raise fail_config(error) from None
    except LocalModeError as error:
        raise fail(str(error)) from None
    folder = workdir(project, stack)
    target = output if output is not None else job_folder(folder, local.endpoint)
    err.print(
        f"Running batch deployment [bold]{local.endpoint}/{local.name}[/] over "
        f"{escape(str(input_path))} into {escape(str(target))}",
        highlight=False,
    )
    raise typer.Exit(
        run_batch_job(local, deployment_spec, folder, input_path.resolve(), target.resolve())
    )


def _run_pipeline(
    endpoint: str, spec: PipelineBatchDeploymentSpec, source: Path, target: Path
) -> int:
    """Run a pipeline-component deployment's steps here (`amlkit.local.pipeline`); the
    exit code: 0 every step ran, 1 a step failed. LocalModeError when it cannot run here."""
    from amlkit.local.pipeline import pipeline_steps, run_pipeline_job

    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise fail(f"--output {target}: must be a new or empty folder (it holds earlier results)")
    steps = pipeline_steps(endpoint, spec, source.resolve(), target.resolve())
    err.print(
        f"Running pipeline deployment [bold]{endpoint}/{spec.name}[/] "
        f"({len(steps)} steps) over {escape(str(source))} into {escape(str(target))}",
        highlight=False,
    )
    code = run_pipeline_job(
        steps,
        continue_on_step_failure=bool(spec.settings.continue_on_step_failure),
        report=lambda line: err.print(escape(line), highlight=False),
    )
    err.print("[green]job completed[/]" if code == 0 else "[red]job failed[/]")
    return code
