"""`amlkit env create` and `amlkit env ls`: short-lived test environments, one per pull
request, as stack files. Offline; only `--init` talks to the Pulumi backend."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from amlkit.specs import ConfigError

from .common import EXIT_INTERNAL, ProjectOption, err, fail, fail_config, out
from .moments import parse_now

app = typer.Typer(
    help="Test environments: a pull request's copy of a stack, and the list of them.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now", help="Take this as the current time (ISO 8601 with offset). Default: the clock."
    ),
]


@app.command("create")
def create(
    source: Annotated[
        str,
        typer.Option("--from", help="The stack to copy, e.g. [bold]dev[/].", show_default=False),
    ],
    pull_request: Annotated[
        int, typer.Option("--pr", min=1, help="Pull request number: stack [bold]pr-<N>[/].")
    ],
    ttl: Annotated[
        str, typer.Option("--ttl", help="Time to live, in hours or days (48h, 2d); at most 30d.")
    ] = "48h",
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", help="Downsize it: [bold]small[/] (see the README). Default: none."
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite an existing stack file (new salt).")
    ] = False,
    init: Annotated[
        bool,
        typer.Option(
            "--init",
            help="Also create the stack in the Pulumi backend and set its amlkit:* tags "
            "(needs the Pulumi CLI).",
        ),
    ] = False,
    now: NowOption = None,
    project_dir: ProjectOption = None,
) -> None:
    """Write [bold]stacks/Pulumi.pr-<N>.yaml[/]: a copy of a stack for one pull request.

    Environment [bold]pr<N>[/], a new salt for the names Azure keeps after deletion,
    endpoint names rewritten to stay valid and unique in the region, [bold]protect: false[/],
    and [bold]ephemeral: {ttl_hours, expires_at}[/] in UTC. Comments and secure: values
    of the source are kept. The file is validated before this returns.
    """
    from amlkit.lifecycle.pr_environment import (
        CreateRequest,
        EnvCreateError,
        create_pr_environment,
    )
    from amlkit.lifecycle.ttl import parse_ttl
    from amlkit.specs.project import find_project

    try:
        hours = parse_ttl(ttl)
    except ValueError as error:
        raise fail(str(error)) from None
    request = CreateRequest(
        source=source,
        pull_request=pull_request,
        ttl_hours=hours,
        now=parse_now(now),
        profile=profile,
        replace=replace,
    )
    try:
        project = find_project(project_dir)
        created = create_pr_environment(project, request)
    except ConfigError as error:
        raise fail_config(error) from None
    except EnvCreateError as error:
        raise fail(str(error)) from None
    ephemeral = created.spec.environment.ephemeral
    assert ephemeral is not None and ephemeral.expires_at is not None
    out.print(
        f"[green]created[/] stack [bold]{created.stack}[/] ({escape(str(created.path))}): "
        f"environment {created.spec.environment.name}, salt {created.spec.environment.salt}, "
        f"expires {ephemeral.expires_at:%Y-%m-%dT%H:%M:%SZ}",
        highlight=False,
    )
    for old, new in created.renamed.items():
        out.print(f"  endpoint {old} -> {new}", highlight=False)
    for line in created.dropped + created.changes:
        out.print(f"  {escape(line)}", highlight=False)
    if created.secure_values:
        err.print(
            "[yellow]note[/] secure values copied as the source's ciphertext: "
            f"{', '.join(created.secure_values)}. With a per-stack secrets provider (Pulumi "
            f"Cloud's default) set them again: pulumi config cp --stack {source} --dest "
            f"{created.stack} --path <key>",
            highlight=False,
            soft_wrap=True,
        )
    if init:
        _init_stack(project, created.stack, created.tags)


def _init_stack(project: object, stack: str, tags: dict[str, str]) -> None:
    from pulumi.automation import CommandError, Stack

    from amlkit.lifecycle.pulumi_cli import PulumiMissing, workspace
    from amlkit.specs.project import Project

    assert isinstance(project, Project)
    try:
        ws = workspace(project)
        handle = Stack.create_or_select(stack, ws)
        for key, value in tags.items():
            ws.set_tag(handle.name, key, value)
    except PulumiMissing as error:
        raise fail(str(error)) from None
    except CommandError as error:
        raise fail(f"pulumi: {str(error).strip().splitlines()[-1]}", EXIT_INTERNAL) from None
    out.print(
        f"  stack {stack} in the backend, tagged {', '.join(f'{k}={v}' for k, v in tags.items())}"
    )


@app.command("ls")
def ls(now: NowOption = None, project_dir: ProjectOption = None) -> None:
    """List the project's stacks: test environments with their expiry, lasting ones too."""
    from amlkit.lifecycle.listing import describe_expiry, list_environments
    from amlkit.specs.project import find_project

    moment = parse_now(now)
    try:
        listed = list_environments(find_project(project_dir))
    except ConfigError as error:
        raise fail_config(error) from None
    table = Table(title=f"Environments at {moment:%Y-%m-%dT%H:%M:%SZ}")
    for column in ("stack", "environment", "kind", "from", "PR", "expires at (UTC)", "status"):
        table.add_column(column)
    for entry in listed:
        if entry.problem is not None:
            table.add_row(entry.stack, "", "[red]invalid[/]", "", "", "", escape(entry.problem))
            continue
        table.add_row(
            entry.stack,
            entry.environment or "",
            "ephemeral" if entry.ephemeral else "lasting",
            entry.source or "",
            str(entry.pull_request or ""),
            f"{entry.expires_at:%Y-%m-%dT%H:%M:%SZ}" if entry.expires_at else "",
            ("[red]" if entry.expired(moment) else "")
            + describe_expiry(entry.expires_at, moment)
            + ("[/]" if entry.expired(moment) else ""),
        )
    out.print(table)
