"""How a plan looks to a person: the resource tree and a count by type."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from amlkit.specs.identity import ROLE_DEFINITION_IDS

from .policy_check import PolicyReport, Violation

# Inputs worth a glance in the tree, by type; the JSON has all of them.
_HIGHLIGHTS: dict[str, tuple[str, ...]] = {
    "azure-native:machinelearningservices:OnlineEndpoint": (
        "properties.authMode",
        "properties.publicNetworkAccess",
    ),
    "azure-native:machinelearningservices:OnlineDeployment": (
        "sku.capacity",
        "properties.instanceType",
    ),
    "azure-native:machinelearningservices:BatchDeployment": (
        "properties.miniBatchSize",
        "properties.compute",
        "properties.deploymentConfiguration.settings.default_compute",
    ),
    "azure-native:machinelearningservices:Compute": (
        "properties.properties.vmSize",
        "properties.properties.scaleSettings.minNodeCount",
    ),
    "azure-native:monitor:AutoscaleSetting": ("profiles",),
    "azure-native:authorization:RoleAssignment": ("roleDefinitionId",),
    "azure-native:containerregistry:Registry": ("sku.name",),
}


_ROLE_NAMES = {role_id: name for name, role_id in ROLE_DEFINITION_IDS.items()}


def _short(typ: str) -> str:
    parts = typ.split(":")
    return parts[-1] if len(parts) == 3 else typ


def _get(inputs: dict[str, Any], dotted: str) -> Any:
    node: Any = inputs
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _label(resource: dict[str, Any]) -> str:
    typ = resource["type"]
    module = typ.split(":")[1] if typ.count(":") == 2 else ""
    text = f"[bold]{resource['name']}[/] [dim]{_short(typ)}{' · ' + module if module and module != 'index' else ''}[/]"
    if resource["protect"]:
        text += " [yellow]protected[/]"
    facts = []
    for dotted in _HIGHLIGHTS.get(typ, ()):
        value = _get(resource["inputs"], dotted)
        if dotted == "roleDefinitionId" and isinstance(value, str):
            role_id = value.rsplit("/", 1)[-1]
            facts.append(_ROLE_NAMES.get(role_id, role_id))
        elif dotted == "profiles" and isinstance(value, list) and value:
            capacity = value[0].get("capacity", {})
            facts.append(f"instances {capacity.get('minimum')}..{capacity.get('maximum')}")
        elif value is not None and not isinstance(value, dict | list):
            facts.append(f"{dotted.rsplit('.', 1)[-1]}={value}")
    if facts:
        text += " [cyan]" + ", ".join(facts) + "[/]"
    return text + _cost(resource.get("cost"))


def _cost(cost: dict[str, Any] | None) -> str:
    """A resource's month at retail list price (amlkit.cost), when it has one."""
    if not cost:
        return ""
    monthly = cost.get("monthly")
    if monthly:
        low, high = monthly["min"], monthly["max"]
        shown = f"{high:,.2f}" if low == high else f"{low:,.2f}..{high:,.2f}"
        return f" [magenta]{shown}/month[/]"
    if cost.get("kind") == "unpriced":
        return " [dim]no price in snapshot[/]"
    return ""


def resource_tree(document: dict[str, Any]) -> Tree:
    """Resources under their parents, as `pulumi preview` nests them."""
    tree = Tree(f"[bold]{document['project']}[/] · stack [bold]{document['stack']}[/]")
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for resource in document["resources"]:
        children[resource["parent"]].append(resource)

    def add(node: Tree, parent: str | None) -> None:
        for resource in children.get(parent, []):
            add(node.add(_label(resource)), resource["urn"])

    add(tree, None)
    return tree


def notice_lines(document: dict[str, Any]) -> list[str]:
    """One line a deliberate difference from az ml (amlkit.plan.differences), naming the
    resources it affects; none when the plan has no notices."""
    by_difference: dict[str, list[str]] = defaultdict(list)
    messages: dict[str, str] = {}
    names = {r["urn"]: r["name"] for r in document["resources"]}
    for notice in document.get("notices", ()):
        by_difference[notice["difference"]].append(names.get(notice["urn"], notice["urn"]))
        messages[notice["difference"]] = notice["message"]
    return [
        f"[blue]notice[/] {escape(key)}: {escape(messages[key])} "
        f"[dim]({len(affected)} resource{'s' if len(affected) != 1 else ''}: "
        f"{escape(', '.join(affected))})[/]"
        for key, affected in by_difference.items()
    ]


def type_table(document: dict[str, Any]) -> Table:
    counts = Counter(r["type"] for r in document["resources"])
    table = Table(title="Resources by type", show_footer=True)
    table.add_column("type", footer="total")
    table.add_column("count", justify="right", footer=str(sum(counts.values())))
    for typ, count in sorted(counts.items()):
        table.add_row(typ, str(count))
    return table


_LEVEL_STYLE = {"mandatory": "bold red", "advisory": "yellow"}


def policy_table(report: PolicyReport) -> Group:
    """A summary line, then violations grouped by resource: level, rule, what is
    wrong and how to fix it."""
    mandatory = sum(v.level == "mandatory" for v in report.violations)
    summary = (
        f"[bold]Policy[/] ({escape(report.config or 'default levels')}): "
        f"{'[bold red]FAILED[/]' if report.failed else '[green]passed[/]'}, "
        f"{mandatory} mandatory and {len(report.violations) - mandatory} advisory violations"
    )
    if report.not_applicable:
        summary += "; not applicable: " + ", ".join(sorted(report.not_applicable))
    if not report.violations:
        return Group(summary)
    table = Table()
    table.add_column("resource", overflow="fold", ratio=2)
    table.add_column("level", ratio=1)
    table.add_column("rule", overflow="fold", ratio=2)
    table.add_column("problem, then how to fix it", overflow="fold", ratio=5)
    by_resource: dict[str, list[Violation]] = defaultdict(list)
    for violation in report.violations:
        by_resource[violation.resource].append(violation)
    for resource, violations in sorted(by_resource.items()):
        violations.sort(key=lambda v: (v.level != "mandatory", v.policy))
        for index, v in enumerate(violations):
            table.add_row(
                escape(resource) if index == 0 else "",
                f"[{_LEVEL_STYLE.get(v.level, '')}]{v.level}[/]",
                v.policy,
                f"{escape(v.message)}\n[dim]fix: {escape(v.fix)}[/]",
                end_section=index == len(violations) - 1,
            )
    return Group(summary, table)


def rollout_table(document: dict[str, Any]) -> Table:
    """Each endpoint's rollout: its steps, the least time to promote a healthy candidate
    and the longest a failing one keeps its share before the rollback."""
    table = Table(title="Rollouts (amlkit rollout)", title_justify="left")
    for column in ("endpoint", "candidate", "baseline", "steps", "min. to promote", "to roll back"):
        table.add_column(column)
    for plan in document.get("rollouts", []):
        table.add_row(
            plan["endpoint"],
            plan["candidate"],
            plan["baseline"] or "-",
            ", ".join(f"{p}%" for p in plan["steps"]),
            plan["minimum_to_promote"],
            plan["time_to_roll_back"],
        )
    return table
