"""The `amlkit` command: thin sub-commands over specs, components and the plan.

Exit codes, for CI: 0 all good; 1 the plan was rendered but a check failed;
2 the stack config (or a file it names) is wrong; 3 amlkit itself failed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from amlkit import __version__
from amlkit.specs import ConfigError

EXIT_CHECK_FAILED = 1
EXIT_BAD_CONFIG = 2
EXIT_INTERNAL = 3

app = typer.Typer(
    name="amlkit",
    help="Put ML models into production on Azure Machine Learning with Pulumi.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(
    help="Check a stack config, or write its JSON Schema.", no_args_is_help=True
)
app.add_typer(config_app, name="config")

out = Console()
err = Console(stderr=True)

StackOption = Annotated[
    str,
    typer.Option("--stack", "-s", help="Stack name: reads [bold]stacks/Pulumi.<stack>.yaml[/]."),
]
ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="Project folder (holds Pulumi.yaml). Default: the nearest one up from here.",
    ),
]


def _fail_config(error: ConfigError) -> typer.Exit:
    for problem in error.problems:
        err.print(f"[red]error[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
    count = len(error.problems)
    err.print(
        f"[red]{count} problem{'s' if count != 1 else ''}[/] in the stack config; nothing was rendered."
    )
    return typer.Exit(EXIT_BAD_CONFIG)


@app.command()
def plan(
    stack: StackOption,
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Also write the plan as JSON (the format of DESIGN.md) to this file."
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the summary, not the tree.")
    ] = False,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            exists=True,
            dir_okay=False,
            help="Plan JSON of the deployed state: refuses removing a deployment that still "
            "serves traffic (policy aml-deployment-delete-live-traffic).",
        ),
    ] = None,
    project_dir: ProjectOption = None,
    check_azure: Annotated[
        bool,
        typer.Option(
            "--check-azure",
            help="Check each Azure ML request body against Azure's own ARM models "
            "(azure-ai-ml, API 2025-12-01); exit 1 if Azure would reject one.",
        ),
    ] = False,
) -> None:
    """Render a stack offline with Pulumi's mock engine: no CLI, cloud or credentials.

    Prints the resource tree and a count by type; [bold]--json[/] writes every
    resource with its inputs as Azure ML would receive them (secrets as "[secret]").
    Then runs the policy pack's rules at the levels of [bold]amlkit:policy.config[/]:
    violations by resource, and exit code 1 when a mandatory rule fails.
    """
    from amlkit.plan.policy_check import check_stack
    from amlkit.plan.render import load_spec, plan_document, render, write_json
    from amlkit.plan.view import policy_table, resource_tree, type_table
    from amlkit.specs.project import find_project

    started = time.perf_counter()
    try:
        project = find_project(project_dir)
        spec = load_spec(project, stack)
    except ConfigError as error:
        raise _fail_config(error) from None
    try:
        with err.status(f"Rendering stack [bold]{stack}[/] with Pulumi's mock engine…"):
            recording = render(project, stack)
    except ConfigError as error:
        raise _fail_config(error) from None
    except Exception as error:  # a bug in a component, not the user's config
        err.print(f"[red]error[/] rendering stack {stack} failed: {type(error).__name__}: {error}")
        err.print("This is an amlkit bug; rerun with AMLKIT_DEBUG=1 for the traceback.")
        if _debug():
            raise
        raise typer.Exit(EXIT_INTERNAL) from None
    document = plan_document(project, stack, recording)
    try:
        report = check_stack(project, stack, spec, document, previous=previous)
    except ConfigError as error:
        raise _fail_config(error) from None
    document["policy"] = report.as_json()
    if not quiet:
        out.print(resource_tree(document))
    out.print(type_table(document))
    out.print(policy_table(report))
    if json_file is not None:
        write_json(document, json_file)
        out.print(f"Plan written to [bold]{json_file}[/].")
    err.print(
        f"[dim]{len(document['resources'])} resources in {time.perf_counter() - started:.1f} s[/]"
    )
    if check_azure:
        _check_azure(document)
    if report.failed:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _check_azure(document: dict[str, Any]) -> None:
    """Print what Azure's models reject; exit EXIT_CHECK_FAILED if anything."""
    try:
        from amlkit.plan.azure_check import check_plan, checked_types
        from amlkit.plan.azure_models import models_module
        from amlkit.plan.azure_view import findings_table

        models_module()
    except ImportError as error:
        err.print(
            f"[red]error[/] --check-azure needs azure-ai-ml ({error.name} is missing): "
            "pip install 'amlkit[azure]'"
        )
        raise typer.Exit(EXIT_INTERNAL) from None
    findings = check_plan(document)
    count = len(checked_types(document))
    if findings:
        out.print(findings_table(findings))
        rejected = len({f.urn for f in findings})
        err.print(
            f"[red]{rejected} of {count} Azure ML resources[/] would be rejected by Azure's models."
        )
        raise typer.Exit(EXIT_CHECK_FAILED)
    out.print(f"[green]ok[/] {count} Azure ML request bodies match Azure's models.")


@config_app.command("validate")
def config_validate(stack: StackOption, project_dir: ProjectOption = None) -> None:
    """Validate a stack config and the CLI v2 files it names; one line per problem."""
    from amlkit.plan.render import load_spec
    from amlkit.specs.project import find_project

    try:
        spec = load_spec(find_project(project_dir), stack)
    except ConfigError as error:
        raise _fail_config(error) from None
    deployments = sum(len(e.deployments) for e in spec.online_endpoints) + sum(
        len(e.deployments) for e in spec.batch_endpoints
    )
    out.print(
        f"[green]ok[/] stack [bold]{stack}[/]: {len(spec.online_endpoints)} online and "
        f"{len(spec.batch_endpoints)} batch endpoints, {deployments} deployments, "
        f"{len(spec.compute)} compute clusters, {len(spec.identities)} identities."
    )


@config_app.command("schema")
def config_schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here instead of to standard output."),
    ] = None,
) -> None:
    """Write the JSON Schema of [bold]stacks/Pulumi.<stack>.yaml[/] for editors (yaml-language-server)."""
    from amlkit.specs.schema import stack_config_schema

    text = json.dumps(stack_config_schema(), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"Schema written to [bold]{output}[/].")


# The scoring runtime (runtime-image/, not on PyPI) and the endpoint fronts' HTTP stack.
_LOCAL_NEEDS = ("amlkit_runtime", "httpx", "uvicorn")


@app.command()
def local(
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
            exists=True,
            dir_okay=False,
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
    import importlib.util

    missing = [m for m in _LOCAL_NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        err.print(
            f"[red]error[/] amlkit local needs {', '.join(missing)}: "
            "pip install './runtime-image' 'amlkit[local]' (make setup installs both)"
        )
        raise typer.Exit(EXIT_INTERNAL)
    from amlkit.local.layout import LocalModeError
    from amlkit.local.mode import LocalOptions, run_local
    from amlkit.specs.project import find_project

    try:
        body = request.read_bytes() if request is not None else None
    except OSError as error:
        err.print(f"[red]error[/] --request {request}: {error.strerror}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
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
        raise _fail_config(error) from None
    except LocalModeError as error:
        err.print(f"[red]error[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    raise typer.Exit(code)


@app.command("local-batch")
def local_batch(
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
    """
    import importlib.util

    if importlib.util.find_spec("amlkit_runtime") is None:
        err.print(
            "[red]error[/] amlkit local-batch needs the scoring runtime: "
            "pip install './runtime-image' (make setup installs it)"
        )
        raise typer.Exit(EXIT_INTERNAL)
    from amlkit.local.batch import job_folder, run_batch_job
    from amlkit.local.layout import LocalModeError, local_batch_deployment
    from amlkit.local.mode import workdir
    from amlkit.plan.render import load_spec
    from amlkit.specs.project import find_project

    try:
        project = find_project(project_dir)
        local, spec = local_batch_deployment(load_spec(project, stack), endpoint, deployment)
    except ConfigError as error:
        raise _fail_config(error) from None
    except LocalModeError as error:
        err.print(f"[red]error[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    folder = workdir(project, stack)
    target = output if output is not None else job_folder(folder, local.endpoint)
    err.print(
        f"Running batch deployment [bold]{local.endpoint}/{local.name}[/] over {input_path} "
        f"into {target}",
        highlight=False,
    )
    raise typer.Exit(run_batch_job(local, spec, folder, input_path.resolve(), target.resolve()))


@app.command()
def version() -> None:
    """Print amlkit's version."""
    out.print(f"amlkit {__version__}")


def _debug() -> bool:
    import os

    return os.environ.get("AMLKIT_DEBUG", "") not in ("", "0")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
