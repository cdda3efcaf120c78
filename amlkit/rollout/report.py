"""A rollout's result for people: a Rich table of each window's readings against its
gates, and the same as Markdown for a CI job summary."""

from __future__ import annotations

from rich.table import Table

from .gates import GateCheck, StepRecord
from .state import RolloutResult, split_text

_MARK = {"pass": "pass", "fail": "FAIL", "inconclusive": "inconclusive"}


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _phase(step: StepRecord) -> str:
    if step.phase == "step":
        return f"step {step.percent}%"
    if step.phase == "shadow":
        return f"shadow {step.percent}%"
    return step.phase


def _readings(step: StepRecord) -> str:
    parts = []
    for name, reading in step.readings.items():
        rate = reading.error_rate
        p99 = reading.latency_ms.get("p99")
        parts.append(
            f"{name}: {reading.requests} req"
            + (f", {rate:.2%} 5xx" if rate is not None else "")
            + (f", p99 {p99:.0f} ms" if p99 is not None else "")
        )
    return "; ".join(parts)


def _check(check: GateCheck) -> str:
    base = f" (baseline {_value(check.baseline)})" if check.baseline is not None else ""
    detail = f": {check.detail}" if check.detail else ""
    return f"{_MARK[check.verdict]} {check.metric} {_value(check.candidate)}{base}{detail}"


def _headline(result: RolloutResult) -> str:
    final = split_text(result.final_split) if result.final_split else "(running)"
    return (
        f"Rollout of {result.endpoint} to {result.candidate} (baseline {result.baseline}) "
        f"on {result.where}: {result.status} - {result.reason}. Live now: {final}"
    )


def steps_table(result: RolloutResult) -> Table:
    table = Table(title=_headline(result), title_justify="left")
    for column in ("phase", "split", "readings", "gates", "verdict"):
        table.add_column(column)
    for step in result.steps:
        gates = "\n".join(_check(c) for c in step.checks) or step.detail
        verdict = _MARK[step.verdict] + (f" ({step.detail})" if step.detail and step.checks else "")
        style = {"pass": "green", "fail": "red", "inconclusive": "yellow"}[step.verdict]
        table.add_row(
            _phase(step),
            split_text(step.split),
            _readings(step),
            gates,
            f"[{style}]{verdict}[/]",
        )
    return table


def markdown(result: RolloutResult) -> str:
    """The summary CI shows (`$GITHUB_STEP_SUMMARY`)."""
    lines = [
        f"### Rollout of `{result.endpoint}`: **{result.status}**",
        "",
        f"{result.candidate} (baseline {result.baseline}) on {result.where}: {result.reason}.",
        "",
        "Gates: " + "; ".join(f"`{g}`" for g in result.gates),
        "",
        "| phase | split | readings | gates | verdict |",
        "|---|---|---|---|---|",
    ]
    for step in result.steps:
        gates = "<br>".join(_check(c) for c in step.checks) or step.detail
        cells = [_phase(step), split_text(step.split), _readings(step), gates, _MARK[step.verdict]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    final = split_text(result.final_split) if result.final_split else "(running)"
    lines += ["", f"Live split now: {final}", ""]
    return "\n".join(lines)
