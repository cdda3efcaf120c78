"""`amlkit cost`: a stack's month at retail list prices, the difference two plans make
(Markdown for a pull request), and the price snapshot's refresh."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from amlkit.specs import ConfigError

from .common import EXIT_CHECK_FAILED, EXIT_INTERNAL, ProjectOption, err, fail, fail_config, out
from .moments import parse_now

app = typer.Typer(
    help="Monthly cost at retail list prices: of a stack, or of a change between two plans.",
    rich_markup_mode="rich",
)
prices_app = typer.Typer(help="The price snapshot amlkit estimates with.", no_args_is_help=True)
app.add_typer(prices_app, name="prices")


@app.callback(invoke_without_command=True)
def cost(
    ctx: typer.Context,
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Estimate this stack (renders it offline).")
    ] = None,
    project_dir: ProjectOption = None,
) -> None:
    """Estimate a stack's month: online deployments (instances x hours, the autoscale
    range), compute clusters (minimum always on, up to maximum), the registry; what is
    usage based is listed, not estimated. Prices: the shipped snapshot's retail list
    prices (its date is printed)."""
    if ctx.invoked_subcommand is not None:
        return
    if stack is None:
        raise fail("give --stack S, or a sub-command: diff, prices refresh")
    from amlkit.cost.estimate import BASIS
    from amlkit.plan.render import plan_document, render
    from amlkit.specs.project import find_project

    try:
        project = find_project(project_dir)
        project.load_spec(stack)
        with err.status(f"Rendering stack [bold]{stack}[/] with Pulumi's mock engine…"):
            document = plan_document(project, stack, render(project, stack))
    except ConfigError as error:
        raise fail_config(error) from None
    total = document["cost"]
    table = Table(
        title=f"Stack {stack}: a month at {BASIS}, snapshot of {total['snapshot']} ({total['currency']})"
    )
    for column in ("resource", "month", "how"):
        table.add_column(column, overflow="fold")
    for resource in document["resources"]:
        estimate = resource.get("cost")
        if estimate is None or "monthly" not in estimate:
            continue
        table.add_row(resource["name"], _month(estimate["monthly"]), escape(estimate["detail"]))
    out.print(table)
    out.print(
        f"[bold]total[/] {_month(total['monthly'])} {total['currency']} a month "
        f"({BASIS}, snapshot {total['snapshot']}; priced resources only)",
        highlight=False,
    )
    quota = [r for r in document["resources"] if (r.get("cost") or {}).get("quota")]
    for resource in quota:
        out.print(f"quota {resource['name']}: {resource['cost']['quota']}", highlight=False)
    if total["not_estimated"]:
        out.print("[bold]not estimated[/]")
        for item in total["not_estimated"]:
            out.print(f"  - {escape(item)}", highlight=False, soft_wrap=True)


def _month(monthly: dict[str, float]) -> str:
    low, high = monthly["min"], monthly["max"]
    return f"{high:,.2f}" if low == high else f"{low:,.2f} to {high:,.2f}"


@app.command("diff")
def diff(
    base: Annotated[
        Path,
        typer.Option(
            "--base",
            exists=True,
            dir_okay=False,
            help="Plan JSON of the base (amlkit plan --json).",
        ),
    ],
    head: Annotated[
        Path, typer.Option("--head", exists=True, dir_okay=False, help="Plan JSON of the change.")
    ],
    fail_above: Annotated[
        float | None,
        typer.Option(
            "--fail-above",
            help="Exit 1 when the highest month rises by more than this (in the snapshot's currency).",
        ),
    ] = None,
    title: Annotated[str, typer.Option("--title", help="The Markdown heading.")] = "Monthly cost",
) -> None:
    """Compare two plans' months; print Markdown for a pull request comment."""
    from amlkit.cost.diff import compare, markdown
    from amlkit.cost.prices import load_snapshot

    plans = [_read_plan(path) for path in (base, head)]
    result = compare(plans[0], plans[1], load_snapshot())
    sys.stdout.write(markdown(result, title))
    if fail_above is not None and result.increase > fail_above:
        err.print(
            f"[red]cost check failed[/]: the highest month rises by {result.increase:,.2f}, "
            f"above --fail-above {fail_above:,.2f}",
            highlight=False,
        )
        raise typer.Exit(EXIT_CHECK_FAILED)


def _read_plan(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise fail(f"{path}: not a plan JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        raise fail(
            f"{path}: not a plan JSON (no resources list); write one with amlkit plan --json"
        )
    return document


@prices_app.command("refresh")
def refresh(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write. Default: the shipped snapshot."),
    ] = None,
    api: Annotated[
        str, typer.Option("--api", help="The Retail Prices API.")
    ] = "https://prices.azure.com/api/retail/prices",
    now: Annotated[
        str | None, typer.Option("--now", help="Date the snapshot as this time (ISO 8601).")
    ] = None,
    project_dir: ProjectOption = None,
) -> None:
    """Rebuild the price snapshot from Azure's Retail Prices API for the VM sizes and
    regions the project's stacks use (needs the network)."""
    from amlkit.cost.prices import SHIPPED
    from amlkit.cost.refresh import Needs, RefreshError, fetch, write_snapshot
    from amlkit.specs.project import find_project

    try:
        project = find_project(project_dir)
        specs = [project.load_spec(s) for s in project.stacks()]
    except ConfigError as error:
        raise fail_config(error) from None
    sizes = set()
    for spec in specs:
        region = spec.environment.location
        sizes |= {(region, c.size) for c in spec.compute}
        sizes |= {
            (region, d.instance_type)
            for e in spec.online_endpoints
            for d in e.deployments
            if d.instance_type
        }
    needs = Needs(frozenset(sizes), frozenset(s.environment.location for s in specs))
    filters = needs.filters()
    try:
        items = list(fetch(filters, api))
    except RefreshError as error:
        raise fail(str(error), EXIT_INTERNAL) from None
    except Exception as error:  # the network: azure-core's ServiceRequestError and kin
        raise fail(f"{api}: {type(error).__name__}: {error}", EXIT_INTERNAL) from None
    target = output or SHIPPED
    write_snapshot(items, filters, target, parse_now(now), api)
    out.print(
        f"[green]wrote[/] {escape(str(target))}: {len(items)} items from {len(filters)} queries"
    )
