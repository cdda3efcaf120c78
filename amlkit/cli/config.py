"""`amlkit config validate` and `amlkit config schema`: the stack config checked, or
described for editors. Neither imports Pulumi."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from amlkit.specs import ConfigError

from .common import ProjectOption, StackOption, err, fail_config, out
from .output import check_output, write_atomically

app = typer.Typer(
    help="Check a stack config, or write its JSON Schema.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.command("validate")
def validate(stack: StackOption, project_dir: ProjectOption = None) -> None:
    """Validate a stack config and the CLI v2 files it names; one line per problem."""
    from amlkit.specs import load_stack_spec
    from amlkit.specs.project import find_project

    try:
        spec = load_stack_spec(find_project(project_dir).stacks_dir, stack)
    except ConfigError as error:
        raise fail_config(error) from None
    deployments = sum(len(e.deployments) for e in spec.online_endpoints) + sum(
        len(e.deployments) for e in spec.batch_endpoints
    )
    out.print(
        f"[green]ok[/] stack [bold]{stack}[/]: {len(spec.online_endpoints)} online and "
        f"{len(spec.batch_endpoints)} batch endpoints, {deployments} deployments, "
        f"{len(spec.compute)} compute clusters, {len(spec.identities)} identities."
    )


@app.command("schema")
def schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here instead of to standard output."),
    ] = None,
) -> None:
    """Write the JSON Schema of [bold]stacks/Pulumi.<stack>.yaml[/] for editors (yaml-language-server)."""
    from amlkit.specs.schema import stack_config_schema

    if output is not None:
        check_output(output, "--output")
    text = json.dumps(stack_config_schema(), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text, "--output")
        err.print(f"Schema written to [bold]{output}[/].")
