"""The persisted rollout state: the JSON state file every transition is written to
(atomically: a temporary file in the same folder, then a rename), so an interrupted CI
job can be followed by `status`, `resume` or `abort`; and `RolloutResult`, where a
rollout ended (or stands), which is also the report `--report` writes.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from amlkit.specs.rollout import RolloutSpec

from .gates import GateCheck, StepRecord
from .sources import Reading, RolloutError, Split, Window

STATE_VERSION = 1

Outcome = Literal["promoted", "rolled_back", "held", "aborted"]
Status = Literal["running", "promoted", "rolled_back", "held", "aborted"]


@dataclass(frozen=True)
class TrafficWrite:
    """A split written to the endpoint, when, and why."""

    at: datetime
    split: Split
    why: str


@dataclass(frozen=True)
class RolloutResult:
    """Where a rollout ended (or stands, while `status` is running)."""

    endpoint: str
    where: str
    candidate: str
    baseline: str
    status: Status
    reason: str
    initial_split: Split
    final_split: Split | None
    """The split live at the end (None while running)."""
    steps: tuple[StepRecord, ...]
    writes: tuple[TrafficWrite, ...]
    started: datetime
    ended: datetime | None
    gates: tuple[str, ...]
    """Each gate as people read it."""

    @property
    def outcome(self) -> Status:
        return self.status

    @property
    def promoted(self) -> bool:
        return self.status == "promoted"

    def to_json(self) -> dict[str, Any]:
        """The report `--report` writes (and the state file's history)."""
        return {
            "endpoint": self.endpoint,
            "where": self.where,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "outcome": self.status,
            "reason": self.reason,
            "gates": list(self.gates),
            "initial_split": _split_json(self.initial_split),
            "final_split": _split_json(self.final_split) if self.final_split else None,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat() if self.ended else None,
            "steps": [_step_json(s) for s in self.steps],
            "writes": [
                {"at": w.at.isoformat(), "why": w.why, **_split_json(w.split)} for w in self.writes
            ],
        }


@dataclass
class RolloutState:
    endpoint: str
    where: str
    spec: RolloutSpec
    baseline: str
    initial: Split
    started: datetime
    status: Status = "running"
    reason: str = ""
    next_phase: int = 0
    steps: list[StepRecord] = field(default_factory=list)
    writes: list[TrafficWrite] = field(default_factory=list)
    final: Split | None = None
    ended: datetime | None = None

    def result(self) -> RolloutResult:
        return RolloutResult(
            endpoint=self.endpoint,
            where=self.where,
            candidate=self.spec.candidate,
            baseline=self.baseline,
            status=self.status,
            reason=self.reason,
            initial_split=self.initial,
            final_split=self.final,
            steps=tuple(self.steps),
            writes=tuple(self.writes),
            started=self.started,
            ended=self.ended,
            gates=tuple(g.describe() for g in self.spec.gates),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "spec": self.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
            "next_phase": self.next_phase,
            **self.result().to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RolloutState:
        return cls(
            endpoint=data["endpoint"],
            where=data["where"],
            spec=RolloutSpec.model_validate(data["spec"]),
            baseline=data["baseline"],
            initial=_split_from(data["initial_split"]),
            started=datetime.fromisoformat(data["started"]),
            status=data["outcome"],
            reason=data["reason"],
            next_phase=int(data["next_phase"]),
            steps=[_step_from(s) for s in data["steps"]],
            writes=[
                TrafficWrite(datetime.fromisoformat(w["at"]), _split_from(w), w["why"])
                for w in data["writes"]
            ],
            final=_split_from(data["final_split"]) if data["final_split"] else None,
            ended=datetime.fromisoformat(data["ended"]) if data["ended"] else None,
        )

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old state or the new, never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.to_json(), handle, indent=2)
                handle.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def read_state(path: Path) -> RolloutResult:
    """The rollout recorded in a state file. Raises RolloutError when there is none or it
    cannot be read."""
    return load_state(path).result()


def load_state(path: Path) -> RolloutState:
    """The state in `path`; RolloutError when there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RolloutError(f"{path}: no rollout state here (no rollout was started)") from None
    except (OSError, ValueError) as error:
        raise RolloutError(f"{path}: cannot read the rollout state ({error})") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise RolloutError(f"{path}: not an amlkit rollout state file (version {STATE_VERSION})")
    try:
        return RolloutState.from_json(data)
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise RolloutError(f"{path}: the rollout state is damaged ({error})") from None


# -- text and JSON ---------------------------------------------------------------------------------


def split_text(split: Split) -> str:
    """`blue 90%, green 10%; mirror green 20%` for people."""
    live = ", ".join(f"{k} {v}%" for k, v in sorted(split.traffic.items()) if v) or "none"
    mirror = ", ".join(f"{k} {v}%" for k, v in sorted(split.mirror.items()) if v)
    return live + (f"; mirror {mirror}" if mirror else "")


def _split_json(split: Split) -> dict[str, Any]:
    return {"traffic": dict(split.traffic), "mirror_traffic": dict(split.mirror)}


def _split_from(data: Mapping[str, Any]) -> Split:
    return Split(
        {str(k): int(v) for k, v in data["traffic"].items()},
        {str(k): int(v) for k, v in data.get("mirror_traffic", {}).items()},
    )


def _reading_json(reading: Reading) -> dict[str, Any]:
    return {
        "requests": reading.requests,
        "statuses": dict(reading.statuses),
        "error_rate": reading.error_rate,
        "latency_ms": dict(reading.latency_ms),
        "metrics": dict(reading.metrics),
    }


def _step_json(step: StepRecord) -> dict[str, Any]:
    return {
        "phase": step.phase,
        "percent": step.percent,
        **_split_json(step.split),
        "window": {"start": step.window.start.isoformat(), "end": step.window.end.isoformat()}
        if step.window
        else None,
        "readings": {k: _reading_json(r) for k, r in step.readings.items()},
        "gates": [
            {
                "metric": c.metric,
                "limit": c.limit,
                "candidate": c.candidate,
                "baseline": c.baseline,
                "verdict": c.verdict,
                "detail": c.detail,
            }
            for c in step.checks
        ],
        "verdict": step.verdict,
        "detail": step.detail,
    }


def _step_from(data: Mapping[str, Any]) -> StepRecord:
    window = data.get("window")
    return StepRecord(
        phase=data["phase"],
        percent=int(data["percent"]),
        split=_split_from(data),
        window=Window(
            datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])
        )
        if window
        else None,
        readings={
            k: Reading(k, dict(r["statuses"]), dict(r["latency_ms"]), dict(r["metrics"]))
            for k, r in data["readings"].items()
        },
        checks=tuple(
            GateCheck(
                c["metric"], c["limit"], c["candidate"], c["baseline"], c["verdict"], c["detail"]
            )
            for c in data["gates"]
        ),
        verdict=data["verdict"],
        detail=data["detail"],
    )


__all__ = [
    "STATE_VERSION",
    "Outcome",
    "RolloutResult",
    "RolloutState",
    "Status",
    "TrafficWrite",
    "load_state",
    "read_state",
    "split_text",
]
