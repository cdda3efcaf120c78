"""`amlkit teardown`: a test environment destroyed and its stack removed, by name or
every expired one, through Pulumi's Automation API."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from .common import EXIT_BAD_CONFIG, EXIT_CHECK_FAILED, ProjectOption, err, fail, out
from .moments import parse_now

_STYLE = {"destroyed": "green", "already gone": "green", "would destroy": "cyan"}


def teardown(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="The stack to tear down.")
    ] = None,
    expired: Annotated[
        bool,
        typer.Option(
            "--expired",
            help="Every ephemeral stack past its expiry (stack files and stacks tagged "
            "amlkit:ephemeral in the backend).",
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option("--now", help="With --expired: take this as the current time (ISO 8601)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be torn down; change nothing.")
    ] = False,
    allow_permanent: Annotated[
        bool,
        typer.Option("--allow-permanent", help="Also tear down a stack that is not ephemeral."),
    ] = False,
    ignore_protect: Annotated[
        bool,
        typer.Option(
            "--ignore-protect",
            help="Unprotect protected resources (pulumi state unprotect --all) and destroy "
            "them. Never a forced stack rm.",
        ),
    ] = False,
    purge: Annotated[
        bool,
        typer.Option(
            "--purge",
            help="Release the names Azure keeps after deletion where it allows: the ML "
            "workspace (forceToPurge) and Log Analytics (force).",
        ),
    ] = False,
    lock_attempts: Annotated[
        int, typer.Option("--lock-attempts", min=1, help="Tries while the stack is locked.")
    ] = 10,
    lock_wait: Annotated[
        float, typer.Option("--lock-wait", min=0, help="Seconds between those tries.")
    ] = 30.0,
    project_dir: ProjectOption = None,
) -> None:
    """Tear down a test environment: traffic to zero, then pulumi destroy and stack rm.

    Refuses a stack that is not ephemeral ([bold]--allow-permanent[/]) or that protects
    resources ([bold]--ignore-protect[/]); a stack already gone is fine. Waits and retries
    while another update holds the stack's lock. One line per stack; exit 1 if any failed
    or was refused, 2 without the Pulumi CLI.
    """
    from amlkit.lifecycle.pulumi_cli import PulumiMissing, workspace
    from amlkit.lifecycle.sweep import expired_stacks
    from amlkit.lifecycle.teardown import TeardownOptions
    from amlkit.lifecycle.teardown import teardown as tear_down
    from amlkit.specs.project import find_project

    if (stack is None) == (not expired):
        raise fail("give --stack S or --expired (one of them)")
    if now is not None and not expired:
        raise fail("--now goes with --expired")
    moment = parse_now(now)
    project = find_project(project_dir)
    try:
        ws = workspace(project)
    except PulumiMissing as error:
        raise fail(str(error), EXIT_BAD_CONFIG) from None
    options = TeardownOptions(
        allow_permanent=allow_permanent,
        ignore_protect=ignore_protect,
        purge=purge,
        dry_run=dry_run,
        lock_attempts=lock_attempts,
        lock_wait_s=lock_wait,
    )
    stacks = [stack] if stack is not None else expired_stacks(ws, project, moment)
    if expired and not stacks:
        out.print(f"no expired test environments at {moment:%Y-%m-%dT%H:%M:%SZ}")
        return
    failed = 0
    for name in stacks:
        outcome = tear_down(ws, project, name, options)
        for step in outcome.steps:
            err.print(f"  [dim]{escape(step)}[/]", highlight=False)
        style = _STYLE.get(outcome.status, "red")
        out.print(f"[{style}]{escape(outcome.line())}[/]", highlight=False, soft_wrap=True)
        failed += not outcome.ok
    if failed:
        err.print(f"[red]{failed} of {len(stacks)}[/] stacks not torn down.")
        raise typer.Exit(EXIT_CHECK_FAILED)
