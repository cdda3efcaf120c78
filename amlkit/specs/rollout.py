"""A safe rollout of one online endpoint: the `rollout:` section under an endpoint.

`amlkit rollout` walks the phases this section describes (`amlkit/rollout/engine.py`):
an initial delay, an optional smoke phase (requests sent straight to the candidate),
an optional shadow phase (a share of live traffic mirrored to the candidate), then
the traffic steps, each baked for `bake` while the gates are checked against the
deployments' readings over that window. A failed gate (or the timeout) puts the
pre-rollout split back. Durations are ISO-8601 (`PT10M`, `PT30S`, `PT1H`), as ARM
writes them; a bare number is refused (seconds or minutes?).

The endpoint-level rules (candidate and baseline are deployments of the endpoint,
shadow on managed endpoints only) live in `online_endpoint.py`, next to the traffic
rules they share.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .assets import resolve_local_path
from .base import LowerCase, Spec
from .types import INT32_MAX, DeploymentName, PositiveInt

MAX_SHADOW_PERCENT = 50
"""Azure mirrors at most 50% of live traffic (Azure ML "safe rollout" doc)."""

REQUEST_METRICS = ("error_rate", "latency_p50", "latency_p90", "latency_p95", "latency_p99")
"""Gate metrics every source reads: 5xx answers over all answers (a fraction, 0-1), and
request latency percentiles in milliseconds."""

AZURE_MONITOR_METRICS = (
    # Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments
    # (Azure Monitor "supported metrics" reference).
    "CpuUtilizationPercentage",
    "CpuMemoryUtilizationPercentage",
    "GpuUtilizationPercentage",
    "GpuMemoryUtilizationPercentage",
    "GpuEnergyJoules",
    "DiskUtilization",
    "DeploymentCapacity",
    "RequestsPerMinute",
    "RequestLatency_P50",
    "RequestLatency_P90",
    "RequestLatency_P95",
    "RequestLatency_P99",
    "DataCollectionEventsPerMinute",
    "DataCollectionErrorsPerMinute",
)
"""Azure Monitor metrics of an online deployment a gate may name as they are spelled
there; the source aggregates each over the window (average; a `..PerMinute` metric:
the mean per minute). Local mode reads `RequestsPerMinute` and `RequestLatency_P*`
from amlkit-serve; the others only on Azure."""

AZURE_MONITOR_LAG = timedelta(minutes=3)
"""Azure Monitor's usual ingestion delay: the Azure target's `metrics_lag` when the section
sets none (what `amlkit plan` assumes for its times)."""

KNOWN_METRICS = REQUEST_METRICS + AZURE_MONITOR_METRICS
ERROR_METRICS = frozenset({"error_rate"})
"""Gates that watch failures (what the prod policy rule requires one of)."""


def _iso_duration(value: Any) -> Any:
    """Only ISO-8601 text (`PT5M`); a number would leave the unit to guesswork."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str) or not value.strip().upper().startswith("P"):
        raise ValueError(f"{value!r} is not an ISO-8601 duration; write e.g. PT30S, PT10M, PT1H30M")
    return value.strip().upper()


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero (e.g. PT30S)")
    return value


Duration = Annotated[timedelta, BeforeValidator(_iso_duration), AfterValidator(_not_negative)]
"""An ISO-8601 duration (`PT10M`), zero or more."""
PositiveDuration = Annotated[timedelta, BeforeValidator(_iso_duration), AfterValidator(_positive)]
"""An ISO-8601 duration above zero."""


class Canary(Spec):
    """Named steps: the candidate's share of live traffic at each, e.g. [10, 50, 100]."""

    type: Literal["canary"]
    steps: Annotated[tuple[Annotated[StrictInt, Field(ge=1, le=100)], ...], Field(min_length=1)]

    @field_validator("steps")
    @classmethod
    def _increasing_to_100(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if any(b <= a for a, b in pairwise(steps)):
            raise ValueError(f"steps {list(steps)} must increase strictly")
        if steps[-1] != 100:
            raise ValueError(f"steps {list(steps)} must end at 100 (the candidate takes all)")
        return steps

    def percents(self) -> tuple[int, ...]:
        return self.steps


class Linear(Spec):
    """Equal steps of `step` percent, the last one capped at 100 (step 30: 30, 60, 90, 100)."""

    type: Literal["linear"]
    step: Annotated[StrictInt, Field(ge=1, le=100)]

    def percents(self) -> tuple[int, ...]:
        return (*range(self.step, 100, self.step), 100)


class BlueGreen(Spec):
    """All traffic to the candidate in one step (after smoke and shadow), then baked and gated."""

    type: Literal["blue_green"]

    def percents(self) -> tuple[int, ...]:
        return (100,)


def _strategy_shorthand(value: Any) -> Any:
    """`strategy: blue_green` reads as `{type: blue_green}`."""
    if isinstance(value, str):
        return {"type": value.strip().lower()}
    return value


Strategy = Annotated[
    Canary | Linear | BlueGreen,
    BeforeValidator(_strategy_shorthand),
    Field(discriminator="type"),
]


class Smoke(Spec):
    """Requests sent straight to the candidate (`azureml-model-deployment` header) before it
    takes any live traffic; every answer's status must be one of `statuses`."""

    requests: Annotated[StrictInt, Field(ge=1, le=10_000)] = 10
    """How many requests; default 10."""
    statuses: Annotated[
        tuple[Annotated[StrictInt, Field(ge=100, le=599)], ...], Field(min_length=1)
    ] = (200,)
    """Statuses that count as passing; default [200]."""
    request_file: str
    """The body sent (JSON, as a client sends it), relative to the stack config's folder."""

    @field_validator("request_file")
    @classmethod
    def _existing_file(cls, value: str, info: ValidationInfo) -> str:
        return resolve_local_path(value, info, "file")


class Shadow(Spec):
    """A share of live traffic mirrored to the candidate (answers dropped) for `duration`,
    gated like a step; managed endpoints only (Azure does not mirror on Kubernetes)."""

    percent: Annotated[StrictInt, Field(ge=1, le=MAX_SHADOW_PERCENT)]
    """Percent of live requests copied to the candidate; Azure allows at most 50."""
    duration: PositiveDuration


Limit = Annotated[StrictFloat, Field(ge=0, le=INT32_MAX)]
"""A gate's limit (an integer reads as it is written)."""


class Gate(Spec):
    """A limit on one metric of the candidate over each window; at least one limit.

    Limits: `max` (absolute), `max_over_baseline` (candidate minus baseline at most this)
    and `max_ratio_to_baseline` (candidate at most baseline times this). Limits against the
    baseline are checked only when the baseline served `min_requests` in the same window
    (at 100% it serves none, so only `max` applies there)."""

    metric: str
    """`error_rate` (fraction 0-1), `latency_p50|p90|p95|p99` (milliseconds), or an Azure
    Monitor metric of the deployment by name (e.g. `CpuUtilizationPercentage`)."""
    max: Limit | None = None
    max_over_baseline: Limit | None = None
    max_ratio_to_baseline: Annotated[StrictFloat, Field(gt=0, le=1000)] | None = None

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in KNOWN_METRICS:
            raise ValueError(f"unknown metric {value!r}; known: {', '.join(KNOWN_METRICS)}")
        return value

    @model_validator(mode="after")
    def _a_limit(self) -> Gate:
        if (
            self.max is None
            and self.max_over_baseline is None
            and self.max_ratio_to_baseline is None
        ):
            raise ValueError(
                f"gate {self.metric}: give at least one of max, max_over_baseline, "
                "max_ratio_to_baseline"
            )
        if self.metric == "error_rate" and self.max is not None and self.max > 1:
            raise ValueError(f"gate error_rate: max {self.max} is a fraction between 0 and 1")
        return self

    def describe(self) -> str:
        """`error_rate <= 0.01, <= baseline + 0.005` for tables and reports."""
        parts = []
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        if self.max_over_baseline is not None:
            parts.append(f"<= baseline + {self.max_over_baseline:g}")
        if self.max_ratio_to_baseline is not None:
            parts.append(f"<= baseline x {self.max_ratio_to_baseline:g}")
        return f"{self.metric} " + ", ".join(parts)


class RolloutSpec(Spec):
    """How `amlkit rollout` moves an endpoint's live traffic to `candidate`."""

    candidate: DeploymentName
    """The deployment taking over."""
    baseline: DeploymentName | None = None
    """The deployment compared against; default: the one with the most live traffic in
    `traffic` other than the candidate."""
    strategy: Strategy
    """`{type: canary, steps: [10, 50, 100]}`, `{type: linear, step: 25}` or `blue_green`."""
    bake: PositiveDuration
    """How long each step runs before its gates are read (one gate interval)."""
    initial_delay: Duration = timedelta(0)
    """A wait before anything changes (e.g. for the candidate to warm up); default none."""
    smoke: Smoke | None = None
    shadow: Shadow | None = None
    gates: Annotated[tuple[Gate, ...], Field(min_length=1)]
    min_requests: Annotated[StrictInt, Field(ge=0, le=INT32_MAX)] = 100
    """Requests the candidate must serve in a window for its readings to count; fewer makes
    the window inconclusive. Default 100."""
    on_inconclusive: Annotated[Literal["extend", "hold", "fail"], LowerCase] = "extend"
    """`extend`: read again over the window grown by one `bake`; `hold`: read a fresh
    window of one `bake` at the same split; `fail`: roll back. Default extend."""
    max_inconclusive: PositiveInt = 3
    """Inconclusive windows in a row a step tolerates before it fails; default 3."""
    metrics_lag: Duration | None = None
    """How long after a window ends its readings are complete; default: the source's
    (Azure Monitor: PT3M; local: none)."""
    on_failure: Annotated[Literal["rollback", "hold"], LowerCase] = "rollback"
    """`rollback` restores the pre-rollout split (mirror off); `hold` leaves the split as the
    failed step set it, for a person to decide (refused in prod by policy)."""
    timeout: PositiveDuration | None = None
    """The whole rollout's limit; past it the rollout rolls back. Default: none."""

    @model_validator(mode="after")
    def _rules(self) -> RolloutSpec:
        if self.baseline is not None and self.baseline == self.candidate:
            raise ValueError(f"baseline and candidate are both {self.candidate!r}")
        names = [g.metric for g in self.gates]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"gates: {duplicates} appear more than once; give one gate a metric")
        minimum = self.minimum_to_promote()
        if self.timeout is not None and self.timeout < minimum:
            raise ValueError(
                f"timeout {self.timeout} is shorter than the least the rollout takes "
                f"({minimum}: initial delay, shadow and every bake)"
            )
        return self

    def percents(self) -> tuple[int, ...]:
        """The candidate's share at each step."""
        return self.strategy.percents()

    def has_error_gate(self) -> bool:
        return any(g.metric in ERROR_METRICS for g in self.gates)

    def minimum_to_promote(self, lag: timedelta | None = None) -> timedelta:
        """The least a healthy rollout takes: initial delay, shadow, and each step's bake
        plus the metrics lag (every window conclusive, no smoke time counted)."""
        wait = self.metrics_lag if self.metrics_lag is not None else (lag or timedelta(0))
        windows = len(self.percents()) + (1 if self.shadow else 0)
        shadow = self.shadow.duration if self.shadow else timedelta(0)
        return self.initial_delay + shadow + len(self.percents()) * self.bake + windows * wait

    def time_to_roll_back(self, lag: timedelta | None = None) -> timedelta:
        """The longest a bad candidate keeps its share before a failed gate is read: one
        bake and the metrics lag (a failed gate is read at the end of its window)."""
        wait = self.metrics_lag if self.metrics_lag is not None else (lag or timedelta(0))
        return self.bake + wait
