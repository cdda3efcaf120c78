"""A dry run: readings from a recorded file, traffic writes kept in memory.

`amlkit rollout --recorded FILE` walks a rollout without touching an endpoint: the
engine reads its windows' readings from the file, in order, and every split it writes
is recorded (and reported with the rollout's writes); no smoke requests can be sent
(`prober` is None, so a spec with a smoke phase is refused before anything starts).
Run it with `DryRunClock`: bakes and lag then take no real time.

The file, YAML or JSON (`.json` is read as JSON, anything else as YAML):

```yaml
split:                    # the split live before the rollout; mirror_traffic optional
  traffic: {blue: 100, green: 0}
  mirror_traffic: {}
metrics_lag: PT0S         # optional, default PT0S: how late a window's readings are
windows:                  # one per window the rollout reads, in the order it reads them
  - readings:
      green:              # a deployment: answers by status class, latency percentiles
        statuses: {2xx: 380, 5xx: 2}
        latency_ms: {p50: 40, p99: 180}
        metrics: {CpuUtilizationPercentage: 35}   # Azure Monitor metrics by name
      blue:
        statuses: {2xx: 1510, 5xx: 4}
        latency_ms: {p50: 38, p99: 170}
```

A deployment a window does not name has no readings in it (an inconclusive window for
a candidate); a rollout that reads more windows than the file holds gets empty readings
from then on, which its `on_inconclusive` decides about.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator

from amlkit.specs.base import Spec
from amlkit.specs.errors import ConfigError, Problem, Source, display_path, problems_from_validation
from amlkit.specs.loader import load_json, load_yaml
from amlkit.specs.rollout import Duration

from .sources import LATENCY_PERCENTILES, Reading, Split, Target, Window

StatusClass = Annotated[str, Field(pattern=r"^[1-5]xx$")]
Percent = Annotated[int, Field(ge=0, le=100, strict=True)]
Count = Annotated[int, Field(ge=0, strict=True)]
Value = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class RecordedSplit(Spec):
    traffic: dict[str, Percent]
    mirror_traffic: dict[str, Percent] = {}


class RecordedReading(Spec):
    statuses: dict[StatusClass, Count] = {}
    """Answers by status class (`2xx`, `4xx`, `5xx`)."""
    latency_ms: dict[str, Value] = {}
    """Percentiles: p50, p90, p95, p99."""
    metrics: dict[str, Value] = {}
    """Any Azure Monitor metric by name, over the window."""

    @field_validator("latency_ms")
    @classmethod
    def _percentiles(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(LATENCY_PERCENTILES))
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} is not a percentile; use {', '.join(LATENCY_PERCENTILES)}"
            )
        return value


class RecordedWindow(Spec):
    readings: dict[str, RecordedReading] = {}


class RecordedFile(Spec):
    split: RecordedSplit
    metrics_lag: Duration = timedelta(0)
    windows: list[RecordedWindow] = Field(min_length=1)


def load(path: Path) -> RecordedFile:
    """The recorded file, checked; a ConfigError names the file and field otherwise."""
    raw = load_json(path) if path.suffix.lower() == ".json" else load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(
            [Problem(display_path(path), "", "must be a mapping with split and windows")]
        )
    try:
        return RecordedFile.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(
            problems_from_validation(error, raw, root=Source(path), model=RecordedFile)
        ) from None


class RecordedTraffic:
    """The split, in memory: starts as the file's, then each write."""

    def __init__(self, initial: Split) -> None:
        self.writes: list[Split] = []
        """Every split written, in order: what the dry run would have written."""
        self._live = initial

    def read_split(self) -> Split:
        return self._live

    def write_split(self, split: Split) -> None:
        names = {*self._live.traffic, *split.traffic}
        full = Split(
            {n: split.traffic.get(n, 0) for n in sorted(names)},
            {n: v for n, v in split.mirror.items() if v},
        )
        self.writes.append(full)
        self._live = full


class RecordedMetrics:
    """The file's windows, one per read, in order; empty readings after the last."""

    def __init__(self, windows: Sequence[RecordedWindow], lag: timedelta) -> None:
        self.lag = lag
        self.reads: list[Window] = []
        """The windows the rollout asked about, in order."""
        self._windows = list(windows)

    def read(
        self, deployments: Sequence[str], window: Window, metrics: Sequence[str] = ()
    ) -> dict[str, Reading]:
        index = len(self.reads)
        self.reads.append(window)
        recorded = self._windows[index].readings if index < len(self._windows) else {}
        readings = {}
        for name in deployments:
            held = recorded.get(name)
            readings[name] = (
                Reading(
                    name,
                    statuses=dict(held.statuses),
                    latency_ms=dict(held.latency_ms),
                    metrics={m: v for m, v in held.metrics.items() if m in metrics},
                )
                if held is not None
                else Reading(name)
            )
        return readings


class DryRunClock:
    """The clock for a dry run: starts at the wall clock's now, and a sleep moves it on
    at once, so bakes and the metrics lag of a recorded rollout take no real time."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self._now += timedelta(seconds=max(seconds, 0.0))


def connect(path: Path) -> Target:
    """A dry-run target over the recorded file at `path` (format: this module's doc)."""
    recorded = load(path)
    split = Split(dict(recorded.split.traffic), dict(recorded.split.mirror_traffic))
    return Target(
        traffic=RecordedTraffic(split),
        metrics=RecordedMetrics(recorded.windows, recorded.metrics_lag),
        prober=None,
        where=f"recorded {path}",
    )
