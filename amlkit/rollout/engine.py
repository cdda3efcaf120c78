"""The rollout engine: walks a `RolloutSpec`'s phases against a `Target`.

Phases, in order: the initial delay; smoke (requests straight to the candidate, every
status expected); shadow (live traffic mirrored to the candidate for its duration, then
gated); then each traffic step: the candidate's share written, baked for `bake`, and
the gates read over that window once `metrics_lag` has passed. A window in which the
candidate served fewer than `min_requests` is inconclusive (`on_inconclusive`).

A failed gate, a failed smoke request, the timeout or the target failing (a
`RolloutError` from its traffic, metrics or prober: Azure refusing, the local front
gone) ends the rollout: with `on_failure: rollback` the pre-rollout split is written
back (mirror to the candidate off), with `hold` the split is left as it is. When the
rollback write itself fails, the state stays `running` and `RollbackFailed` says which
split `abort` must restore. A failure before any split was written ends with nothing
changed.

Every transition is written to a JSON state file (atomically: a temporary file in the
same folder, then a rename), so an interrupted CI job can be followed by `status`,
`resume` (the interrupted phase starts again: its split is written again and baked
afresh) or `abort` (the pre-rollout split is written back).

The engine sees only `sources.py`'s protocols and a `Clock`: local mode, Azure and a
recorded file differ in the `Target` they hand it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from amlkit.specs.rollout import AZURE_MONITOR_METRICS, Gate, RolloutSpec

from .sources import Clock, Reading, Split, Target, Window

STATE_VERSION = 1

Outcome = Literal["promoted", "rolled_back", "held", "aborted"]
Status = Literal["running", "promoted", "rolled_back", "held", "aborted"]
Verdict = Literal["pass", "fail", "inconclusive"]
PhaseKind = Literal["delay", "smoke", "shadow", "step"]


class RolloutError(Exception):
    """The rollout cannot start or go on (bad input or state, a target that fails); the
    message says why."""


class RollbackFailed(RolloutError):
    """The rollout failed and writing the split back failed too (or, with
    `on_failure: hold`, the live split could not be read): the state file still says
    `running`, so `abort` can write `restore` once the target answers again."""

    def __init__(self, message: str, restore: Split) -> None:
        super().__init__(message)
        self.restore = restore


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


@dataclass(frozen=True)
class TrafficWrite:
    """A split written to the endpoint, when, and why."""

    at: datetime
    split: Split
    why: str


@dataclass(frozen=True)
class Event:
    """Progress, for the caller to show: `kind` is phase, write, step or done."""

    kind: Literal["phase", "write", "step", "done"]
    message: str
    step: StepRecord | None = None


Progress = Callable[[Event], None]


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


# -- the state file ---------------------------------------------------------------------


@dataclass
class _State:
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
    def from_json(cls, data: Mapping[str, Any]) -> _State:
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
    return _load(path).result()


def _load(path: Path) -> _State:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RolloutError(f"{path}: no rollout state here (no rollout was started)") from None
    except (OSError, ValueError) as error:
        raise RolloutError(f"{path}: cannot read the rollout state ({error})") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise RolloutError(f"{path}: not an amlkit rollout state file (version {STATE_VERSION})")
    try:
        return _State.from_json(data)
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise RolloutError(f"{path}: the rollout state is damaged ({error})") from None


# -- the walk -----------------------------------------------------------------------------


class _TimedOut(Exception):
    pass


class _Failed(Exception):
    pass


def run_rollout(
    spec: RolloutSpec,
    target: Target,
    clock: Clock,
    state_path: Path,
    progress: Progress | None = None,
    *,
    endpoint: str,
) -> RolloutResult:
    """Start a rollout of `endpoint` and walk it to its end; the result (promoted, rolled
    back or held). Raises RolloutError before anything is written when it cannot start
    (a rollout already running in `state_path`, no baseline, smoke without a prober...)."""
    if state_path.exists():
        try:
            previous = _load(state_path)
        except RolloutError:
            previous = None
        if previous is not None and previous.status == "running":
            raise RolloutError(
                f"a rollout of {previous.endpoint} to {previous.spec.candidate} is still "
                f"running according to {state_path}; resume or abort it first"
            )
    initial = target.traffic.read_split()
    baseline = _check_can_start(spec, target, initial)
    state = _State(
        endpoint=endpoint,
        where=target.where,
        spec=spec,
        baseline=baseline,
        initial=initial,
        started=clock.now(),
    )
    state.save(state_path)
    return _Walk(state, target, clock, state_path, progress).run()


def resume_rollout(
    state_path: Path, target: Target, clock: Clock, progress: Progress | None = None
) -> RolloutResult:
    """Go on with the rollout in `state_path` from the phase it was in (started again)."""
    state = _load(state_path)
    if state.status != "running":
        raise RolloutError(
            f"{state_path}: the rollout already ended ({state.status}); nothing to resume"
        )
    return _Walk(state, target, clock, state_path, progress).run()


def abort_rollout(
    state_path: Path, target: Target, clock: Clock, progress: Progress | None = None
) -> RolloutResult:
    """Write the pre-rollout split back and mark the rollout aborted."""
    state = _load(state_path)
    if state.status != "running":
        raise RolloutError(
            f"{state_path}: the rollout already ended ({state.status}); nothing to abort"
        )
    walk = _Walk(state, target, clock, state_path, progress)
    walk.write(walk.rollback_split(), "abort: pre-rollout split")
    return walk.end("aborted", "aborted by a person", walk.rollback_split())


def step_split(initial: Split, candidate: str, percent: int) -> Split:
    """The split at a step: the candidate gets `percent`, the other deployments share the
    rest in proportion to their pre-rollout shares (largest remainders get the rounding),
    and the mirror keeps what it was except to the candidate."""
    others = {k: v for k, v in initial.traffic.items() if k != candidate and v > 0}
    rest = 100 - percent
    total = sum(others.values())
    shares = dict.fromkeys(initial.traffic, 0)
    if rest and total:
        exact = {k: rest * v / total for k, v in others.items()}
        floors = {k: int(x) for k, x in exact.items()}
        left = rest - sum(floors.values())
        for k in sorted(exact, key=lambda k: (floors[k] - exact[k], k))[:left]:
            floors[k] += 1
        shares.update(floors)
    shares[candidate] = percent
    mirror = {k: v for k, v in initial.mirror.items() if k != candidate}
    return Split(shares, mirror)


def _check_can_start(spec: RolloutSpec, target: Target, initial: Split) -> str:
    candidate = spec.candidate
    if initial.traffic.get(candidate, 0) >= 100:
        raise RolloutError(f"{candidate} already takes all live traffic; nothing to roll out")
    live = {k: v for k, v in initial.traffic.items() if k != candidate and v > 0}
    if not live:
        raise RolloutError(
            f"no deployment but {candidate} takes live traffic ({_split_text(initial)}); "
            "a rollout needs one to shift from"
        )
    baseline = spec.baseline or max(live.items(), key=lambda kv: (kv[1], kv[0]))[0]
    if spec.shadow is not None and initial.traffic.get(candidate, 0) > 0:
        raise RolloutError(
            f"shadow: {candidate} already has live traffic ({initial.traffic[candidate]}%); "
            "Azure mirrors only to a deployment without live traffic"
        )
    if spec.smoke is not None:
        if target.prober is None:
            raise RolloutError(f"smoke: {target.where} cannot send requests; drop the smoke phase")
        try:
            Path(spec.smoke.request_file).read_bytes()
        except OSError as error:
            raise RolloutError(
                f"smoke.request_file {spec.smoke.request_file}: {error.strerror}"
            ) from None
    return baseline


def phases(spec: RolloutSpec) -> list[tuple[PhaseKind, int]]:
    """The phases a rollout walks, with the candidate's share each sets."""
    out: list[tuple[PhaseKind, int]] = []
    if spec.initial_delay > timedelta(0):
        out.append(("delay", 0))
    if spec.smoke is not None:
        out.append(("smoke", 0))
    if spec.shadow is not None:
        out.append(("shadow", spec.shadow.percent))
    out += [("step", p) for p in spec.percents()]
    return out


class _Walk:
    def __init__(
        self,
        state: _State,
        target: Target,
        clock: Clock,
        path: Path,
        progress: Progress | None,
    ) -> None:
        self.state = state
        self.spec = state.spec
        self.target = target
        self.clock = clock
        self.path = path
        self.progress = progress or (lambda event: None)
        lag = self.spec.metrics_lag
        self.lag = lag if lag is not None else target.metrics.lag
        timeout = self.spec.timeout
        self.deadline = state.started + timeout if timeout is not None else None
        self.unsure = False
        """A write failed since the last one that succeeded: the live split is unknown."""

    # -- helpers -------------------------------------------------------------------------

    def emit(
        self,
        kind: Literal["phase", "write", "step", "done"],
        message: str,
        step: StepRecord | None = None,
    ) -> None:
        self.progress(Event(kind, message, step))

    def save(self) -> None:
        self.state.save(self.path)

    def write(self, split: Split, why: str) -> None:
        self.unsure = True  # a write that raises may still have landed (ARM: half-way)
        self.target.traffic.write_split(split)
        self.unsure = False
        self.state.writes.append(TrafficWrite(self.clock.now(), split, why))
        self.save()
        self.emit("write", f"{why}: {_split_text(split)}")

    def rollback_split(self) -> Split:
        initial = self.state.initial
        mirror = {k: v for k, v in initial.mirror.items() if k != self.spec.candidate}
        return Split(dict(initial.traffic), mirror)

    def sleep_until(self, when: datetime) -> None:
        """Sleep until `when`; past the deadline first, raise _TimedOut at the deadline."""
        if self.deadline is not None and when > self.deadline:
            self._sleep_to(self.deadline)
            raise _TimedOut
        self._sleep_to(when)

    def _sleep_to(self, when: datetime) -> None:
        while True:
            left = (when - self.clock.now()).total_seconds()
            if left <= 0:
                return
            self.clock.sleep(left)

    def end(self, status: Status, reason: str, final: Split | None = None) -> RolloutResult:
        if final is None:
            try:
                final = self.target.traffic.read_split()
            except RolloutError:
                if not self.state.writes:
                    raise
                final = self.state.writes[-1].split  # what the target last said it holds
        self.state.status = status
        self.state.reason = reason
        self.state.final = final
        self.state.ended = self.clock.now()
        self.save()
        self.emit("done", f"{status}: {reason}")
        return self.state.result()

    # -- the phases ------------------------------------------------------------------------

    def run(self) -> RolloutResult:
        plan = phases(self.spec)
        try:
            while self.state.next_phase < len(plan):
                if self.deadline is not None and self.clock.now() >= self.deadline:
                    raise _TimedOut
                kind, percent = plan[self.state.next_phase]
                if kind == "delay":
                    self.emit("phase", f"initial delay {self.spec.initial_delay}")
                    self.sleep_until(self.state.started + self.spec.initial_delay)
                elif kind == "smoke":
                    self.smoke()
                elif kind == "shadow":
                    assert self.spec.shadow is not None
                    split = Split(dict(self.state.initial.traffic), {self.spec.candidate: percent})
                    self.bake("shadow", percent, split, self.spec.shadow.duration)
                else:
                    split = step_split(self.state.initial, self.spec.candidate, percent)
                    self.bake("step", percent, split, self.spec.bake)
                self.state.next_phase += 1
                self.save()
        except _TimedOut:
            assert self.spec.timeout is not None
            return self.fail(f"timed out after {self.spec.timeout}")
        except _Failed as failure:
            return self.fail(str(failure))
        except RolloutError as error:  # the target failed mid-walk: a failure like a gate's
            kind, percent = plan[self.state.next_phase]
            return self.fail(f"{_phase_label(kind, percent)}: {error}")
        return self.end("promoted", f"{self.spec.candidate} takes all live traffic")

    def fail(self, reason: str) -> RolloutResult:
        if self.nothing_changed():  # failed before any split moved (smoke, the delay)
            return self.end("rolled_back", f"{reason}; nothing was changed", self.state.initial)
        if self.spec.on_failure == "rollback":
            split = self.rollback_split()
            try:
                self.write(split, "rollback: pre-rollout split")
            except RolloutError as error:
                raise self.left_running(
                    f"{reason}; writing the pre-rollout split back failed too: {error}"
                ) from None
            return self.end("rolled_back", reason, split)
        try:
            live = self.target.traffic.read_split()
        except RolloutError as error:
            if self.unsure or not self.state.writes:
                raise self.left_running(
                    f"{reason}; on_failure: hold, but the live split cannot be read: {error}"
                ) from None
            live = self.state.writes[-1].split  # what the target last said it holds
        return self.end("held", f"{reason}; split held as it is (on_failure: hold)", live)

    def nothing_changed(self) -> bool:
        """No split was written, or the only write failed and the target still holds the
        pre-rollout split."""
        if self.state.writes:
            return False
        if not self.unsure:
            return True
        try:
            live = self.target.traffic.read_split()
        except RolloutError:
            return False
        return live.nonzero() == self.state.initial.nonzero()

    def left_running(self, reason: str) -> RollbackFailed:
        """The state stays `running`, with the reason, for `status` and `abort`."""
        self.state.reason = reason
        self.save()
        return RollbackFailed(reason, self.rollback_split())

    def smoke(self) -> None:
        smoke = self.spec.smoke
        assert smoke is not None and self.target.prober is not None
        self.emit("phase", f"smoke: {smoke.requests} request(s) to {self.spec.candidate}")
        body = Path(smoke.request_file).read_bytes()
        statuses = self.target.prober.send(self.spec.candidate, body, smoke.requests)
        counts: dict[str, int] = {}
        classes: dict[str, int] = {}  # a Reading counts by status class
        for status in statuses:
            counts[str(status)] = counts.get(str(status), 0) + 1
            kind = f"{status // 100}xx" if status else "no answer"
            classes[kind] = classes.get(kind, 0) + 1
        bad = [s for s in statuses if s not in smoke.statuses]
        detail = ", ".join(f"{n}x {s}" for s, n in sorted(counts.items()))
        record = StepRecord(
            phase="smoke",
            percent=0,
            split=self.state.initial,
            window=None,
            readings={self.spec.candidate: Reading(self.spec.candidate, classes)},
            checks=(),
            verdict="fail" if bad else "pass",
            detail=f"{detail}; expected {sorted(smoke.statuses)}",
        )
        self.record(record)
        if bad:
            raise _Failed(
                f"smoke: {len(bad)} of {len(statuses)} answers had an unexpected status "
                f"({detail}; expected {sorted(smoke.statuses)})"
            )

    def record(self, record: StepRecord) -> None:
        self.state.steps.append(record)
        self.save()
        self.emit("step", f"{record.phase} {record.percent}%: {record.verdict}", record)

    def bake(self, phase: PhaseKind, percent: int, split: Split, length: timedelta) -> None:
        label = _phase_label(phase, percent)
        self.write(split, label)
        start = self.clock.now()
        span = length
        inconclusive = 0
        extra = [g.metric for g in self.spec.gates if g.metric in AZURE_MONITOR_METRICS]
        who = [self.spec.candidate, self.state.baseline]
        while True:
            window = Window(start, start + span)
            self.emit("phase", f"{label}: baking until {window.end.isoformat()}")
            self.sleep_until(window.end + self.lag)
            readings = self.target.metrics.read(who, window, extra)
            record = evaluate(
                self.spec,
                self.state.baseline,
                readings,
                phase=phase,
                percent=percent,
                split=split,
                window=window,
            )
            self.record(record)
            if record.verdict == "pass":
                return
            if record.verdict == "fail":
                failed = [c for c in record.checks if c.verdict == "fail"]
                raise _Failed(f"{label}: " + "; ".join(f"{c.metric} {c.detail}" for c in failed))
            inconclusive += 1
            if self.spec.on_inconclusive == "fail" or inconclusive >= self.spec.max_inconclusive:
                raise _Failed(f"{label}: inconclusive ({record.detail})")
            if self.spec.on_inconclusive == "extend":
                span += self.spec.bake
            else:  # hold: a fresh window at the same split
                start, span = window.end, self.spec.bake


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


def _phase_label(phase: PhaseKind, percent: int) -> str:
    if phase in ("shadow", "step"):
        return f"{phase} {percent}%"
    return "initial delay" if phase == "delay" else phase


# -- JSON ---------------------------------------------------------------------------------


def _split_text(split: Split) -> str:
    live = ", ".join(f"{k} {v}%" for k, v in sorted(split.traffic.items()) if v) or "none"
    mirror = ", ".join(f"{k} {v}%" for k, v in sorted(split.mirror.items()) if v)
    return live + (f"; mirror {mirror}" if mirror else "")


def split_text(split: Split) -> str:
    """`blue 90%, green 10%; mirror green 20%` for people."""
    return _split_text(split)


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
    "Event",
    "GateCheck",
    "Progress",
    "RollbackFailed",
    "RolloutError",
    "RolloutResult",
    "StepRecord",
    "TrafficWrite",
    "abort_rollout",
    "evaluate",
    "phases",
    "read_state",
    "resume_rollout",
    "run_rollout",
    "split_text",
    "step_split",
]
