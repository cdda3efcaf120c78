"""Gate evaluation: each gate of a `RolloutSpec` read over one window's readings, and
the record a phase leaves (`StepRecord`, with one `GateCheck` per gate).

A window in which the candidate served fewer than `min_requests` is inconclusive; a
gate whose metric had no data is inconclusive; a broken limit fails the window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from amlkit.specs.rollout import Gate, RolloutSpec

from .sources import Reading, Split, Window

Verdict = Literal["pass", "fail", "inconclusive"]
PhaseKind = Literal["delay", "smoke", "shadow", "step"]


@dataclass(frozen=True)
class GateCheck:
    """One gate read over one window."""

    metric: str
    limit: str
    """The gate as people read it: `error_rate <= 0.01, <= baseline x 1.5`."""
    candidate: float | None
    baseline: float | None
    verdict: Verdict
    detail: str = ""


@dataclass(frozen=True)
class StepRecord:
    """One phase's outcome (smoke, shadow or a traffic step; an extended or held step
    has one record per window read)."""

    phase: PhaseKind
    percent: int
    """The candidate's live share (shadow: its mirror share; smoke: 0)."""
    split: Split
    window: Window | None
    readings: Mapping[str, Reading]
    checks: tuple[GateCheck, ...]
    verdict: Verdict
    detail: str = ""


def gate_value(metric: str, reading: Reading) -> float | None:
    """A gate metric's value in one reading; None when the reading has none."""
    if metric == "error_rate":
        return reading.error_rate
    if metric.startswith("latency_"):
        return reading.latency_ms.get(metric.removeprefix("latency_"))
    return reading.metrics.get(metric)


def evaluate(
    spec: RolloutSpec,
    baseline: str,
    readings: Mapping[str, Reading],
    *,
    phase: PhaseKind = "step",
    percent: int = 0,
    split: Split | None = None,
    window: Window | None = None,
) -> StepRecord:
    """Read every gate over one window's readings: fail if any limit is broken, else
    inconclusive if the candidate served fewer than `min_requests` (or a metric had no
    data), else pass."""
    candidate = readings.get(spec.candidate, Reading(spec.candidate))
    base = readings.get(baseline, Reading(baseline))
    enough = candidate.requests >= spec.min_requests
    base_counts = base.requests >= max(spec.min_requests, 1)
    checks = tuple(_check(g, candidate, base if base_counts else None, enough) for g in spec.gates)
    verdicts = {c.verdict for c in checks}
    if not enough:
        verdict: Verdict = "inconclusive"
        detail = (
            f"{spec.candidate} served {candidate.requests} request(s); {spec.min_requests} needed"
        )
    elif "fail" in verdicts:
        verdict, detail = "fail", ""
    elif "inconclusive" in verdicts:
        verdict, detail = "inconclusive", "a gate's metric had no data"
    else:
        verdict, detail = "pass", ""
    return StepRecord(
        phase=phase,
        percent=percent,
        split=split or Split({}),
        window=window,
        readings=dict(readings),
        checks=checks,
        verdict=verdict,
        detail=detail,
    )


def _check(gate: Gate, candidate: Reading, baseline: Reading | None, enough: bool) -> GateCheck:
    value = gate_value(gate.metric, candidate)
    base = gate_value(gate.metric, baseline) if baseline is not None else None
    limit = gate.describe()
    if not enough:
        return GateCheck(gate.metric, limit, value, base, "inconclusive", "too few requests")
    if value is None:
        return GateCheck(gate.metric, limit, None, base, "inconclusive", "no data")
    broken = []
    if gate.max is not None and value > gate.max:
        broken.append(f"{value:g} > {gate.max:g}")
    over = gate.max_over_baseline
    if over is not None and base is not None and value > base + over:
        broken.append(f"{value:g} > baseline {base:g} + {gate.max_over_baseline:g}")
    ratio = gate.max_ratio_to_baseline
    if ratio is not None and base is not None and value > base * ratio:
        broken.append(f"{value:g} > baseline {base:g} x {gate.max_ratio_to_baseline:g}")
    if broken:
        return GateCheck(gate.metric, limit, value, base, "fail", "; ".join(broken))
    relative = gate.max_over_baseline is not None or gate.max_ratio_to_baseline is not None
    note = "baseline too few requests: absolute limit only" if relative and base is None else ""
    return GateCheck(gate.metric, limit, value, base, "pass", note)


__all__ = ["GateCheck", "PhaseKind", "StepRecord", "Verdict", "evaluate", "gate_value"]
