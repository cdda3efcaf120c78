"""What `amlkit plan --check-azure` prints: the bodies Azure's models reject."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from .azure_check import Finding
from .azure_models import API_VERSION


def findings_table(findings: Sequence[Finding]) -> Table:
    """One row a problem: resource, JSON path in the request body, value, what Azure allows."""
    table = Table(
        title=f"Request bodies Azure's models reject (Azure ML API {API_VERSION})",
        title_justify="left",
    )
    table.add_column("resource", overflow="fold")
    table.add_column("problem")
    table.add_column("path", overflow="fold")
    table.add_column("value", overflow="fold")
    table.add_column("Azure allows", overflow="fold")
    for finding in findings:
        problem = finding.problem
        table.add_row(
            escape(f"{finding.type.rsplit(':', 1)[-1]} {finding.name}"),
            problem.kind,
            escape(problem.path or "<body>"),
            escape(repr(problem.value)),
            escape(problem.allowed),
        )
    return table
