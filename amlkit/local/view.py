"""How a locally served stack looks to a person: where each endpoint and deployment
answers, and what a sample request got back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table

from .probe import ProbeResult
from .serve import DeploymentServer, EndpointFront

_BODY_CHARS = 80


def _share(shares: dict[str, int], name: str) -> str:
    return f"{shares[name]}%" if name in shares else "-"


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def endpoints_table(fronts: Sequence[EndpointFront], servers: Sequence[DeploymentServer]) -> Group:
    """A table an endpoint, titled with its scoring URI: its deployments' traffic, mirror
    share, worker processes and where each answers (or why it is not served), then where
    the logs are."""
    by_name = {(s.deployment.endpoint, s.deployment.name): s for s in servers}
    tables: list[RenderableType] = []
    for front in fronts:
        endpoint = front.endpoint
        table = Table(
            title=f"[bold]{endpoint.name}[/]  {front.scoring_uri}",
            title_justify="left",
            caption=f"auth on Azure: {endpoint.auth_mode}; not checked here",
            caption_justify="left",
        )
        for column in ("deployment", "traffic", "mirror", "workers", "served at"):
            table.add_column(column, overflow="fold")
        for name in endpoint.names:
            server = by_name.get((endpoint.name, name))
            reason = endpoint.reason_not_served(name) or ""
            table.add_row(
                name,
                _share(endpoint.traffic, name),
                _share(endpoint.mirror_traffic, name),
                str(server.deployment.worker_count) if server is not None else "-",
                server.url if server is not None else f"[yellow]not served[/]: {escape(reason)}",
            )
        tables.append(table)
    logs = {_relative(s.log.parent) for s in servers}
    tables.append(f"Deployment logs: {', '.join(sorted(logs))}")
    return Group(*tables)


def probe_table(results: Sequence[ProbeResult]) -> Table:
    """What the sample request got from each endpoint."""
    table = Table(title="Sample request", title_justify="left")
    for column in ("endpoint", "answered by", "status", "ms", "body"):
        table.add_column(column, overflow="fold", justify="right" if column == "ms" else "left")
    for result in results:
        status = str(result.status) if result.status else "failed"
        colour = "green" if result.ok else "red"
        body = result.body.strip()
        if len(body) > _BODY_CHARS:
            body = body[: _BODY_CHARS - 1] + "…"
        table.add_row(
            result.endpoint,
            result.deployment or "-",
            f"[{colour}]{status}[/]",
            f"{result.latency_ms:.1f}",
            escape(body),
        )
    return table
