"""`amlkit plan`: a stack rendered offline, its policy checks, and optionally Azure's
own models over every request body."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from amlkit.specs import ConfigError

from .common import (
    EXIT_CHECK_FAILED,
    EXIT_INTERNAL,
    ProjectOption,
    StackOption,
    debug,
    err,
    fail,
    fail_config,
    out,
    print_error,
)
from .output import check_output, write_atomically


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
    resource with its inputs as Azure ML would receive them (secrets as "\\[secret]").
    Then runs the policy pack's rules at the levels of [bold]amlkit:policy.config[/]:
    violations by resource, and exit code 1 when a mandatory rule fails.
    """
    # Imported here, not at the top: `amlkit --help` and `amlkit config` stay free of Pulumi.
    from amlkit.plan.policy_check import check_stack
    from amlkit.plan.render import plan_document, plan_json, render
    from amlkit.plan.view import (
        notice_lines,
        policy_table,
        resource_tree,
        rollout_table,
        type_table,
    )
    from amlkit.specs.loader import load_plan_resources
    from amlkit.specs.project import find_project

    started = time.perf_counter()
    try:
        project = find_project(project_dir)
        spec = project.load_spec(stack)
        inputs = project.inputs(stack, spec)
    except ConfigError as error:
        raise fail_config(error) from None
    if previous is not None:
        try:
            load_plan_resources(previous)  # a bad --previous is bad input, found first
        except ConfigError as error:
            raise fail(f"--previous {error}") from None
        inputs.append(previous)
    if json_file is not None:
        check_output(json_file, "--json", inputs)
    try:
        with err.status(f"Rendering stack [bold]{stack}[/] with Pulumi's mock engine…"):
            recording = render(project, stack)
    except ConfigError as error:
        raise fail_config(error) from None
    except Exception as error:  # a bug in a component, not the user's config
        print_error(f"rendering stack {stack} failed: {type(error).__name__}: {error}")
        err.print("This is an amlkit bug; rerun with AMLKIT_DEBUG=1 for the traceback.")
        if debug():
            raise
        raise typer.Exit(EXIT_INTERNAL) from None
    document = plan_document(project, stack, recording, spec)
    try:
        report = check_stack(project, stack, spec, document, previous=previous)
    except ConfigError as error:
        raise fail_config(error) from None
    document["policy"] = report.as_json()
    if not quiet:
        out.print(resource_tree(document))
    out.print(type_table(document))
    for line in notice_lines(document):
        out.print(line)
    out.print(policy_table(report))
    if document["rollouts"]:
        out.print(rollout_table(document))
    if json_file is not None:
        write_atomically(json_file, plan_json(document), "--json")
        out.print(f"Plan written to [bold]{json_file}[/].")
    err.print(
        f"[dim]{len(document['resources'])} resources in {time.perf_counter() - started:.1f} s[/]"
    )
    if check_azure:
        _check_azure(document)
    if report.failed:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _check_azure(document: dict[str, Any]) -> None:
    """Print what Azure's models reject; exit 1 if anything (3 if azure-ai-ml is missing)."""
    try:
        from amlkit.plan.azure_check import check_plan, checked_types
        from amlkit.plan.azure_models import models_module
        from amlkit.plan.azure_view import findings_table

        models_module()
    except ImportError as error:
        raise fail(
            f"--check-azure needs azure-ai-ml ({error.name} is missing): "
            "pip install 'amlkit[azure]'",
            EXIT_INTERNAL,
        ) from None
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
