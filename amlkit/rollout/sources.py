"""What a rollout reads and writes, behind one interface for every place it runs.

A rollout needs three things of an online endpoint, wherever it is served:
- `TrafficControl`: read the live and mirrored split, and write a new one (a write
  returns once the endpoint holds it);
- `Prober`: send requests straight to one deployment (the smoke phase), as a client
  does with the `azureml-model-deployment` header;
- `MetricsSource`: each deployment's readings over a time window.

Implementations: local mode (the local router and amlkit-serve's `/metrics`), Azure
(ARM for the split, Azure Monitor for the readings) and a recorded file (dry runs).
The engine (`engine.py`) only sees these protocols and a `Clock`; an implementation that
fails (Azure refusing, the local front gone) raises `RolloutError`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

LATENCY_PERCENTILES = ("p50", "p90", "p95", "p99")


class RolloutError(Exception):
    """The rollout cannot start or go on (bad input or state, a target that fails); the
    message says why."""


@dataclass(frozen=True)
class Split:
    """An endpoint's live traffic and mirror traffic, deployment -> whole percent."""

    traffic: Mapping[str, int]
    mirror: Mapping[str, int] = field(default_factory=dict)

    def nonzero(self) -> Split:
        return Split(
            {k: v for k, v in self.traffic.items() if v},
            {k: v for k, v in self.mirror.items() if v},
        )


@dataclass(frozen=True)
class Window:
    """A half-open time window [start, end), in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Reading:
    """One deployment's readings over one window.

    `statuses` counts answers by status class ("2xx", "4xx", "5xx", ...);
    `latency_ms` holds the percentiles in `LATENCY_PERCENTILES` that had data;
    `metrics` holds any other metric asked for by name (an Azure Monitor metric's
    name, aggregated over the window), absent when the source had no data for it.
    """

    deployment: str
    statuses: Mapping[str, int] = field(default_factory=dict)
    latency_ms: Mapping[str, float] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        """Server errors: 5xx answers (what Azure's own dashboards count as failed)."""
        return self.statuses.get("5xx", 0)

    @property
    def error_rate(self) -> float | None:
        """5xx answers over all answers; None when there were none."""
        return self.errors / self.requests if self.requests else None


class TrafficControl(Protocol):
    """Reads and writes one online endpoint's split."""

    def read_split(self) -> Split: ...

    def write_split(self, split: Split) -> None:
        """Write `split` (deployments it leaves out get 0); returns once it is live."""
        ...


class Prober(Protocol):
    """Sends requests straight to one deployment, bypassing the traffic split."""

    def send(self, deployment: str, body: bytes, count: int) -> list[int]:
        """POST `body` to the endpoint's scoring URI `count` times with the
        `azureml-model-deployment` header; the status of each answer (0 when none came)."""
        ...


class MetricsSource(Protocol):
    """Readings of an endpoint's deployments."""

    lag: timedelta
    """How late a window's readings are complete (Azure Monitor: minutes; local: none)."""

    def read(
        self, deployments: Sequence[str], window: Window, metrics: Sequence[str] = ()
    ) -> dict[str, Reading]:
        """Each deployment's readings over `window` (a deployment with no data gets an
        empty Reading); `metrics` names extra metrics the gates use."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class WallClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class Target:
    """Where a rollout runs: what each place (local, Azure, recorded) hands the engine.

    Built by `amlkit.rollout.local.connect`, `amlkit.rollout.azure.connect` and
    `amlkit.rollout.recorded.connect`. `prober` is None where requests cannot be sent
    (a recorded file): a smoke phase is then refused before the rollout starts.
    """

    traffic: TrafficControl
    metrics: MetricsSource
    prober: Prober | None
    where: str
    """For people: "local http://127.0.0.1:8080", "azure <endpoint ARM id>", "recorded <file>"."""
