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

Every transition is written to the JSON state file (`state.py`), so an interrupted CI job can be followed by `status`,
`resume` (the interrupted phase starts again: its split is written again and baked
afresh) or `abort` (the pre-rollout split is written back).

The engine sees only `sources.py`'s protocols and a `Clock`: local mode, Azure and a
recorded file differ in the `Target` they hand it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from amlkit.specs.rollout import AZURE_MONITOR_METRICS, RolloutSpec

from .gates import PhaseKind, StepRecord, evaluate
from .sources import Clock, Reading, RolloutError, Split, Target, Window
from .state import RolloutResult, RolloutState, Status, TrafficWrite, load_state, split_text


class RollbackFailed(RolloutError):
    """The rollout failed and writing the split back failed too (or, with
    `on_failure: hold`, the live split could not be read): the state file still says
    `running`, so `abort` can write `restore` once the target answers again."""

    def __init__(self, message: str, restore: Split) -> None:
        super().__init__(message)
        self.restore = restore


@dataclass(frozen=True)
class Event:
    """Progress, for the caller to show: `kind` is phase, write, step or done."""

    kind: Literal["phase", "write", "step", "done"]
    message: str
    step: StepRecord | None = None


Progress = Callable[[Event], None]


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
            previous = load_state(state_path)
        except RolloutError:
            previous = None
        if previous is not None and previous.status == "running":
            raise RolloutError(
                f"a rollout of {previous.endpoint} to {previous.spec.candidate} is still "
                f"running according to {state_path}; resume or abort it first"
            )
    initial = target.traffic.read_split()
    baseline = _check_can_start(spec, target, initial)
    state = RolloutState(
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
    state = load_state(state_path)
    if state.status != "running":
        raise RolloutError(
            f"{state_path}: the rollout already ended ({state.status}); nothing to resume"
        )
    return _Walk(state, target, clock, state_path, progress).run()


def abort_rollout(
    state_path: Path, target: Target, clock: Clock, progress: Progress | None = None
) -> RolloutResult:
    """Write the pre-rollout split back and mark the rollout aborted."""
    state = load_state(state_path)
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
            f"no deployment but {candidate} takes live traffic ({split_text(initial)}); "
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
        state: RolloutState,
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
        self.emit("write", f"{why}: {split_text(split)}")

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


def _phase_label(phase: PhaseKind, percent: int) -> str:
    if phase in ("shadow", "step"):
        return f"{phase} {percent}%"
    return "initial delay" if phase == "delay" else phase


__all__ = [
    "Event",
    "Progress",
    "RollbackFailed",
    "abort_rollout",
    "phases",
    "resume_rollout",
    "run_rollout",
    "step_split",
]
