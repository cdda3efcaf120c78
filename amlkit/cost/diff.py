"""Two plans' monthly estimates compared, as Markdown for a pull request comment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .estimate import BASIS, PlanCost, estimate_plan
from .prices import Snapshot


@dataclass(frozen=True)
class CostDiff:
    base: PlanCost
    head: PlanCost
    names: Mapping[str, str]
    """URN -> resource name, for the rows."""

    @property
    def increase(self) -> float:
        """How much the head's highest month exceeds the base's (negative: a saving)."""
        return round(self.head.high - self.base.high, 2)  # in cents, as shown


def compare(base: Mapping[str, Any], head: Mapping[str, Any], snapshot: Snapshot) -> CostDiff:
    names = {r["urn"]: r["name"] for plan in (base, head) for r in plan.get("resources") or []}
    return CostDiff(estimate_plan(base, snapshot), estimate_plan(head, snapshot), names)


def markdown(diff: CostDiff, title: str = "Monthly cost") -> str:
    cur = diff.head.currency
    lines = [
        f"### {title}: {_range(diff.base.low, diff.base.high, cur)} → "
        f"{_range(diff.head.low, diff.head.high, cur)} ({_signed(diff.increase, cur)} at most)",
        "",
        f"Estimated at **{BASIS}** from the price snapshot of **{diff.head.snapshot}**; "
        "priced resources only (below: what is not estimated).",
        "",
        "| resource | base | head | change |",
        "| --- | ---: | ---: | ---: |",
    ]
    rows = 0
    for urn in sorted(set(diff.base.by_urn) | set(diff.head.by_urn), key=lambda u: diff.names[u]):
        old, new = diff.base.by_urn.get(urn), diff.head.by_urn.get(urn)
        old_cell = _range(old.low, old.high, cur) if old and old.high is not None else "—"
        new_cell = _range(new.low, new.high, cur) if new and new.high is not None else "—"
        if old_cell == new_cell:
            continue
        change = (new.high or 0.0 if new else 0.0) - (old.high or 0.0 if old else 0.0)
        lines.append(f"| `{diff.names[urn]}` | {old_cell} | {new_cell} | {_signed(change, cur)} |")
        rows += 1
    if not rows:
        lines.append("| no priced resource changed | | | |")
    unpriced = sorted(set(diff.head.unpriced()))
    usage = sorted({e.detail for e in diff.head.by_urn.values() if e.kind == "usage"})
    if unpriced or usage:
        lines += ["", "<details><summary>Not estimated</summary>", ""]
        lines += [f"- {item}" for item in unpriced + usage]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _range(low: float | None, high: float | None, currency: str) -> str:
    if low is None or high is None:
        return "—"
    if round(low, 2) == round(high, 2):
        return f"{high:,.2f} {currency}"
    return f"{low:,.2f} to {high:,.2f} {currency}"


def _signed(amount: float, currency: str) -> str:
    return f"{'+' if amount >= 0 else '-'}{abs(amount):,.2f} {currency}"
