"""The engine's walk over a scripted target: a clock that only moves when the engine
sleeps, a split held in memory, and readings computed from each window. What local mode
and the stand-ins cannot make happen on demand is driven here: inconclusive windows
(extend, hold, fail, the maximum), the timeout, metrics lag, shadow, smoke, relative
gates, and a job interrupted mid-step then resumed or aborted."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from amlkit.rollout.engine import (
    Event,
    RollbackFailed,
    abort_rollout,
    resume_rollout,
    run_rollout,
    step_split,
)
from amlkit.rollout.sources import Reading, RolloutError, Split, Target, Window
from amlkit.rollout.state import read_state
from amlkit.specs.rollout import RolloutSpec

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

Readings = Callable[[str, Window, Split], Reading]


class Clock:
    def __init__(self) -> None:
        self.now_ = T0

    def now(self) -> datetime:
        return self.now_

    def sleep(self, seconds: float) -> None:
        self.now_ += timedelta(seconds=seconds)


class Endpoint:
    """The split, every write with its time, and readings by a script."""

    def __init__(self, clock: Clock, script: Readings, split: Split | None = None) -> None:
        self.clock = clock
        self.script = script
        self.split = split or Split({"blue": 100, "green": 0})
        self.writes: list[tuple[datetime, Split]] = []
        self.reads: list[tuple[datetime, Window]] = []
        self.probes: list[tuple[str, bytes, int]] = []
        self.lag = timedelta(0)

    # TrafficControl
    def read_split(self) -> Split:
        return self.split

    def write_split(self, split: Split) -> None:
        self.split = split
        self.writes.append((self.clock.now(), split))

    # MetricsSource
    def read(self, deployments: Any, window: Window, metrics: Any = ()) -> dict[str, Reading]:
        assert self.clock.now() >= window.end + self.lag, "read before the window was complete"
        self.reads.append((self.clock.now(), window))
        return {d: self.script(d, window, self.split) for d in deployments}

    # Prober
    def send(self, deployment: str, body: bytes, count: int) -> list[int]:
        self.probes.append((deployment, body, count))
        return [200] * (count - 1) + [503 if deployment == "broken" else 200]

    def target(self, prober: bool = True) -> Target:
        return Target(self, self, self if prober else None, "scripted")


def healthy(deployment: str, window: Window, split: Split) -> Reading:
    share = split.traffic.get(deployment, 0) + split.mirror.get(deployment, 0)
    return Reading(deployment, {"2xx": share * 10}, {"p99": 20.0}) if share else Reading(deployment)


def failing(bad: str, rate: float = 0.2) -> Readings:
    def script(deployment: str, window: Window, split: Split) -> Reading:
        reading = healthy(deployment, window, split)
        if deployment != bad or not reading.requests:
            return reading
        errors = int(reading.requests * rate)
        return Reading(deployment, {"2xx": reading.requests - errors, "5xx": errors}, {"p99": 20.0})

    return script


def spec(**changes: Any) -> RolloutSpec:
    return RolloutSpec.model_validate(
        {
            "candidate": "green",
            "strategy": {"type": "canary", "steps": [10, 50, 100]},
            "bake": "PT5M",
            "gates": [{"metric": "error_rate", "max": 0.05}],
            "min_requests": 50,
            **changes,
        }
    )


def run(endpoint: Endpoint, rollout: RolloutSpec, path: Path, progress: Any = None) -> Any:
    return run_rollout(rollout, endpoint.target(), endpoint.clock, path, progress, endpoint="score")


def traffic(endpoint: Endpoint) -> list[dict[str, int]]:
    return [dict(s.traffic) for _, s in endpoint.writes]


def test_step_split_shares_the_rest_by_the_old_shares() -> None:
    initial = Split({"a": 60, "b": 40, "c": 0}, {"m": 10})
    assert step_split(initial, "c", 25) == Split({"a": 45, "b": 30, "c": 25}, {"m": 10})
    # 67 over 60:40 is 40.2 and 26.8: the larger remainder takes the odd percent.
    assert step_split(initial, "c", 33).traffic == {"a": 40, "b": 27, "c": 33}
    assert step_split(initial, "c", 100).traffic == {"a": 0, "b": 0, "c": 100}
    assert step_split(Split({"a": 100}, {"c": 20}), "c", 10).mirror == {}


def test_promoted_through_every_step_with_readings_after_each_bake(tmp_path: Path) -> None:
    clock = Clock()
    endpoint = Endpoint(clock, healthy)
    endpoint.lag = timedelta(minutes=2)
    events: list[Event] = []
    result = run(endpoint, spec(metrics_lag="PT2M"), tmp_path / "s.json", events.append)

    assert result.status == "promoted"
    assert traffic(endpoint) == [
        {"blue": 90, "green": 10},
        {"blue": 50, "green": 50},
        {"blue": 0, "green": 100},
    ]
    # Each window is one bake from its write, read once its lag has passed.
    writes = [at for at, _ in endpoint.writes]
    assert [w for _, w in endpoint.reads] == [
        Window(at, at + timedelta(minutes=5)) for at in writes
    ]
    assert [at for at, _ in endpoint.reads] == [at + timedelta(minutes=7) for at in writes]
    assert clock.now() - T0 == spec(metrics_lag="PT2M").minimum_to_promote()
    assert [e.kind for e in events].count("step") == 3 and events[-1].kind == "done"
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["outcome"] == "promoted" and saved["final_split"]["traffic"]["green"] == 100


def test_a_failed_gate_rolls_back_to_the_pre_rollout_split(tmp_path: Path) -> None:
    initial = Split({"blue": 100, "green": 0}, {"shadow": 10})
    endpoint = Endpoint(Clock(), failing("green"), initial)
    result = run(endpoint, spec(), tmp_path / "s.json")
    assert result.status == "rolled_back"
    assert result.reason == "step 10%: error_rate 0.2 > 0.05"
    assert [s for _, s in endpoint.writes] == [
        Split({"blue": 90, "green": 10}, {"shadow": 10}),
        initial,
    ]
    assert result.final_split == initial


def test_on_failure_hold_leaves_the_split(tmp_path: Path) -> None:
    endpoint = Endpoint(Clock(), failing("green"))
    result = run(endpoint, spec(on_failure="hold"), tmp_path / "s.json")
    assert result.status == "held"
    assert traffic(endpoint) == [{"blue": 90, "green": 10}]


def test_relative_gates_and_a_baseline_without_traffic(tmp_path: Path) -> None:
    def slow_green(deployment: str, window: Window, split: Split) -> Reading:
        reading = healthy(deployment, window, split)
        latency = {"p99": 50.0 if deployment == "green" else 20.0}
        return Reading(deployment, reading.statuses, latency if reading.requests else {})

    gates = [{"metric": "latency_p99", "max": 100, "max_ratio_to_baseline": 2}]
    endpoint = Endpoint(Clock(), slow_green)
    result = run(endpoint, spec(gates=gates), tmp_path / "s.json")
    assert result.status == "rolled_back"
    (check,) = result.steps[0].checks
    assert (check.candidate, check.baseline, check.verdict) == (50.0, 20.0, "fail")
    assert check.detail == "50 > baseline 20 x 2"

    # At 100% the baseline serves nothing: only the absolute limit is left.
    endpoint = Endpoint(Clock(), slow_green)
    result = run(endpoint, spec(gates=gates, strategy="blue_green"), tmp_path / "t.json")
    assert result.status == "promoted"
    (check,) = result.steps[0].checks
    assert check.baseline is None
    assert check.detail == "baseline too few requests: absolute limit only"


def _quiet_then(windows: int) -> Readings:
    """Too few requests for the first `windows` reads, then healthy."""
    seen: list[Window] = []

    def script(deployment: str, window: Window, split: Split) -> Reading:
        if deployment == "green":
            seen.append(window)
        if len(seen) <= windows:
            return Reading(deployment, {"2xx": 3})
        return healthy(deployment, window, split)

    return script


def test_inconclusive_extend_grows_the_window(tmp_path: Path) -> None:
    endpoint = Endpoint(Clock(), _quiet_then(2))
    result = run(endpoint, spec(strategy="blue_green"), tmp_path / "s.json")
    assert result.status == "promoted"
    start = endpoint.writes[0][0]
    assert [w for _, w in endpoint.reads] == [
        Window(start, start + timedelta(minutes=m)) for m in (5, 10, 15)
    ]
    assert [s.verdict for s in result.steps] == ["inconclusive", "inconclusive", "pass"]
    assert result.steps[0].detail == "green served 3 request(s); 50 needed"


def test_inconclusive_hold_reads_fresh_windows(tmp_path: Path) -> None:
    endpoint = Endpoint(Clock(), _quiet_then(1))
    result = run(endpoint, spec(strategy="blue_green", on_inconclusive="hold"), tmp_path / "s.json")
    assert result.status == "promoted"
    start = endpoint.writes[0][0]
    five = timedelta(minutes=5)
    assert [w for _, w in endpoint.reads] == [
        Window(start, start + five),
        Window(start + five, start + 2 * five),
    ]


def test_inconclusive_fail_and_the_maximum(tmp_path: Path) -> None:
    endpoint = Endpoint(Clock(), _quiet_then(99))
    result = run(endpoint, spec(on_inconclusive="fail"), tmp_path / "a.json")
    assert result.status == "rolled_back" and len(result.steps) == 1
    assert result.reason.startswith("step 10%: inconclusive (green served 3 request(s)")

    endpoint = Endpoint(Clock(), _quiet_then(99))
    result = run(endpoint, spec(max_inconclusive=3), tmp_path / "b.json")
    assert result.status == "rolled_back" and len(result.steps) == 3
    assert traffic(endpoint) == [{"blue": 90, "green": 10}, {"blue": 100, "green": 0}]


def test_the_timeout_rolls_back_at_the_deadline(tmp_path: Path) -> None:
    clock = Clock()
    endpoint = Endpoint(clock, _quiet_then(99))
    result = run(
        endpoint,
        spec(strategy="blue_green", timeout="PT12M", max_inconclusive=10),
        tmp_path / "s.json",
    )
    assert result.status == "rolled_back" and result.reason == "timed out after 0:12:00"
    assert endpoint.writes[-1] == (T0 + timedelta(minutes=12), Split({"blue": 100, "green": 0}))


def test_shadow_mirrors_then_turns_the_mirror_off(tmp_path: Path) -> None:
    endpoint = Endpoint(Clock(), healthy)
    result = run(
        endpoint,
        spec(shadow={"percent": 20, "duration": "PT3M"}, strategy="blue_green"),
        tmp_path / "s.json",
    )
    assert result.status == "promoted"
    assert [s for _, s in endpoint.writes] == [
        Split({"blue": 100, "green": 0}, {"green": 20}),
        Split({"blue": 0, "green": 100}, {}),
    ]
    assert [(s.phase, s.percent) for s in result.steps] == [("shadow", 20), ("step", 100)]

    endpoint = Endpoint(Clock(), failing("green"))
    result = run(endpoint, spec(shadow={"percent": 20, "duration": "PT3M"}), tmp_path / "t.json")
    assert result.status == "rolled_back" and result.reason.startswith("shadow 20%")
    assert endpoint.split == Split({"blue": 100, "green": 0}, {})


def test_smoke_sends_the_file_to_the_candidate_and_stops_on_a_bad_status(
    tmp_path: Path,
) -> None:
    body = tmp_path / "request.json"
    body.write_text('{"data": [[1]]}')
    smoke = {"requests": 4, "request_file": str(body)}
    endpoint = Endpoint(Clock(), healthy)
    assert run(endpoint, spec(smoke=smoke), tmp_path / "a.json").status == "promoted"
    assert endpoint.probes == [("green", b'{"data": [[1]]}', 4)]

    endpoint = Endpoint(Clock(), healthy, Split({"blue": 100, "broken": 0}))
    result = run(endpoint, spec(smoke=smoke, candidate="broken"), tmp_path / "b.json")
    assert result.status == "rolled_back"
    assert result.reason == (
        "smoke: 1 of 4 answers had an unexpected status (3x 200, 1x 503; expected [200]); "
        "nothing was changed"
    )
    assert endpoint.writes == []  # the split was never touched


def test_refused_before_anything_is_written(tmp_path: Path) -> None:
    cases = [
        (Split({"green": 100, "blue": 0}), spec(), "already takes all live traffic"),
        (Split({"blue": 0, "green": 0}), spec(), "no deployment but green takes live traffic"),
        (
            Split({"blue": 90, "green": 10}),
            spec(shadow={"percent": 10, "duration": "PT1M"}),
            r"green already has live traffic \(10%\)",
        ),
    ]
    for split, rollout, message in cases:
        endpoint = Endpoint(Clock(), healthy, split)
        with pytest.raises(RolloutError, match=message):
            run(endpoint, rollout, tmp_path / "x.json")
        assert endpoint.writes == []
    body = tmp_path / "r.json"
    body.write_text("{}")
    endpoint = Endpoint(Clock(), healthy)
    with pytest.raises(RolloutError, match="smoke: scripted cannot send requests"):
        run_rollout(
            spec(smoke={"request_file": str(body)}),
            endpoint.target(prober=False),
            endpoint.clock,
            tmp_path / "y.json",
            endpoint="score",
        )


class Interrupted(Exception):
    pass


def _interrupt_after_first_window(event: Event) -> None:
    if event.kind == "step":
        raise Interrupted


def test_an_interrupted_rollout_resumes_from_its_phase(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    endpoint = Endpoint(Clock(), healthy)
    with pytest.raises(Interrupted):
        run(endpoint, spec(), path, _interrupt_after_first_window)
    status = read_state(path)
    assert status.status == "running" and len(status.steps) == 1
    with pytest.raises(RolloutError, match="still running"):
        run(endpoint, spec(), path)

    result = resume_rollout(path, endpoint.target(), endpoint.clock)
    assert result.status == "promoted"
    # The step being read when the job stopped starts again: written again, baked afresh.
    assert traffic(endpoint) == [
        {"blue": 90, "green": 10},
        {"blue": 90, "green": 10},
        {"blue": 50, "green": 50},
        {"blue": 0, "green": 100},
    ]
    assert len(result.writes) == 4 and result.initial_split == Split({"blue": 100, "green": 0})
    with pytest.raises(RolloutError, match="already ended"):
        resume_rollout(path, endpoint.target(), endpoint.clock)


def test_abort_restores_the_pre_rollout_split(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    endpoint = Endpoint(Clock(), healthy)
    with pytest.raises(Interrupted):
        run(endpoint, spec(), path, _interrupt_after_first_window)
    result = abort_rollout(path, endpoint.target(), endpoint.clock)
    assert result.status == "aborted"
    assert endpoint.split == Split({"blue": 100, "green": 0})
    assert read_state(path).status == "aborted"


def test_a_damaged_or_missing_state_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RolloutError, match="no rollout state here"):
        read_state(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RolloutError, match="cannot read the rollout state"):
        read_state(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"version": 1, "spec": {}}')
    with pytest.raises(RolloutError, match="damaged"):
        read_state(tmp_path / "other.json")


class Faulty(Endpoint):
    """An endpoint whose target parts fail on cue, as Azure or a local front can:
    metrics reads from the `fail_reads`-th on (1-based), the writes numbered in
    `fail_writes`; a failing write first lands when `lands`; a failing prober."""

    def __init__(self, clock: Clock, **cues: Any) -> None:
        super().__init__(clock, healthy)
        self.fail_reads: int | None = cues.get("fail_reads")
        self.fail_writes: set[int] = cues.get("fail_writes", set())
        self.lands: bool = cues.get("lands", False)
        self.fail_probes: bool = cues.get("fail_probes", False)
        self.attempts: list[Split] = []

    def read(self, deployments: Any, window: Window, metrics: Any = ()) -> dict[str, Reading]:
        if self.fail_reads is not None and len(self.reads) + 1 >= self.fail_reads:
            raise RolloutError("Azure Monitor refused metrics RequestsPerMinute: 403")
        return super().read(deployments, window, metrics)

    def write_split(self, split: Split) -> None:
        self.attempts.append(split)
        if len(self.attempts) in self.fail_writes:
            if self.lands:
                self.split = split
            raise RolloutError("writing the split of score: 409 Conflict")
        super().write_split(split)

    def send(self, deployment: str, body: bytes, count: int) -> list[int]:
        if self.fail_probes:
            raise RolloutError("smoke requests to score: listKeys 403")
        return super().send(deployment, body, count)


def test_a_target_failing_mid_walk_rolls_back(tmp_path: Path) -> None:
    # The second window's metrics read fails, with 50% live on the candidate.
    endpoint = Faulty(Clock(), fail_reads=2)
    result = run(endpoint, spec(), tmp_path / "s.json")

    assert result.status == "rolled_back"
    assert result.reason == "step 50%: Azure Monitor refused metrics RequestsPerMinute: 403"
    assert traffic(endpoint) == [
        {"blue": 90, "green": 10},
        {"blue": 50, "green": 50},
        {"blue": 100, "green": 0},
    ]
    assert result.final_split == Split({"blue": 100, "green": 0})
    assert read_state(tmp_path / "s.json").status == "rolled_back"

    # on_failure: hold leaves the split where the failure found it.
    endpoint = Faulty(Clock(), fail_reads=1)
    result = run(endpoint, spec(on_failure="hold"), tmp_path / "h.json")
    assert result.status == "held"
    assert traffic(endpoint) == [{"blue": 90, "green": 10}]
    assert result.final_split == Split({"blue": 90, "green": 10})


def test_a_failing_step_write_is_rolled_back_when_it_landed(tmp_path: Path) -> None:
    # The 50% write fails after Azure took it: the pre-rollout split is written back.
    endpoint = Faulty(Clock(), fail_writes={2}, lands=True)
    result = run(endpoint, spec(), tmp_path / "s.json")
    assert result.status == "rolled_back"
    assert result.reason == "step 50%: writing the split of score: 409 Conflict"
    assert endpoint.split == Split({"blue": 100, "green": 0})
    assert [dict(s.traffic) for s in endpoint.attempts] == [
        {"blue": 90, "green": 10},
        {"blue": 50, "green": 50},
        {"blue": 100, "green": 0},
    ]


def test_the_rollback_write_failing_leaves_the_rollout_running(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    endpoint = Faulty(Clock(), fail_reads=1, fail_writes={2})
    with pytest.raises(RollbackFailed) as raised:
        run(endpoint, spec(), path)

    assert str(raised.value) == (
        "step 10%: Azure Monitor refused metrics RequestsPerMinute: 403; writing the "
        "pre-rollout split back failed too: writing the split of score: 409 Conflict"
    )
    assert raised.value.restore == Split({"blue": 100, "green": 0})
    assert endpoint.split == Split({"blue": 90, "green": 10})  # still half-shifted
    state = read_state(path)
    assert (state.status, state.reason) == ("running", str(raised.value))
    # Once the target answers again, abort writes the split back.
    assert abort_rollout(path, endpoint.target(), endpoint.clock).status == "aborted"
    assert endpoint.split == Split({"blue": 100, "green": 0})


def test_a_target_failing_before_anything_moved_changes_nothing(tmp_path: Path) -> None:
    body = tmp_path / "request.json"
    body.write_text("{}")
    endpoint = Faulty(Clock(), fail_probes=True)
    result = run(endpoint, spec(smoke={"request_file": str(body)}), tmp_path / "a.json")
    assert result.status == "rolled_back"
    assert result.reason == "smoke: smoke requests to score: listKeys 403; nothing was changed"
    assert endpoint.attempts == [] and result.final_split == Split({"blue": 100, "green": 0})

    # The first write refused, the endpoint still as it was: nothing to write back.
    endpoint = Faulty(Clock(), fail_writes={1})
    result = run(endpoint, spec(), tmp_path / "b.json")
    assert result.status == "rolled_back"
    assert (
        result.reason == "step 10%: writing the split of score: 409 Conflict; nothing was changed"
    )
    assert [dict(s.traffic) for s in endpoint.attempts] == [{"blue": 90, "green": 10}]
