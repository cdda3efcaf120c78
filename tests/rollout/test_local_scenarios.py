"""Rollouts in local mode, for real: `amlkit local serve` runs three amlkit-serve
processes behind a front; the engine shifts the front's split through its control route
and reads each deployment's `/metrics`, while a client thread sends requests throughout.

- a healthy candidate reaches 100% through every step, and no request fails;
- a candidate failing one request in five is rolled back at the first gate; the only
  failures the client sees are that deployment's, and none of them was sent after the
  rollback was written (it took effect within the one gate interval it had).

On a loaded machine (CI: two busy cores) the client sends fewer requests a second: a
window with fewer than `min_requests` is extended (`on_inconclusive: extend`, up to
`max_inconclusive` windows) rather than failed, and nothing here assumes how fast
requests go: the client is waited on by count, not by time, and what a window read is
checked against the requests it counted.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from amlkit.local.router import CONTROL_PATH
from amlkit.rollout.engine import Event, run_rollout
from amlkit.rollout.local import connect
from amlkit.rollout.sources import Split, TrafficControl, WallClock
from amlkit.rollout.state import RolloutResult
from amlkit.specs.rollout import RolloutSpec
from tests.local.local_project import make_project

pytestmark = pytest.mark.slow

SCORE = """\
import json, os

count = 0

def init():
    pass

def run(raw_data):
    # FAIL_EVERY=5: every fifth request raises (amlkit-serve answers 500).
    global count
    count += 1
    every = int(os.environ.get("FAIL_EVERY", "0"))
    if every and count % every == 0:
        raise RuntimeError("failing on purpose")
    return {"deployment": os.environ["AZUREML_DEPLOYMENT_NAME"]}
"""


def _deployment(name: str, **variables: str) -> dict[str, object]:
    return {
        "name": name,
        "model": {"path": "../model", "name": "weights"},
        "code_configuration": {"code": "../code", "scoring_script": "score.py"},
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        "environment_variables": variables,
    }


ENDPOINT: dict[str, object] = {
    "name": "ep-roll",
    "traffic": {"blue": 100, "green": 0, "bad": 0},
    "deployments": [_deployment("blue"), _deployment("green"), _deployment("bad", FAIL_EVERY="5")],
    "rollout": {
        "candidate": "green",
        "baseline": "blue",
        "strategy": {"type": "canary", "steps": [20, 50, 100]},
        "bake": "PT2S",
        "gates": [{"metric": "error_rate", "max": 0.05}, {"metric": "latency_p99", "max": 5000}],
        "min_requests": 5,
        # A 2 s window of a 20% share holds ~20 requests here, and 3 on a loaded CI
        # machine: extended up to 12 times (a 24 s window) before a step gives up.
        "on_inconclusive": "extend",
        "max_inconclusive": 12,
    },
}
STACK = {
    "amlkit:environment": {"name": "loc", "location": "westeurope"},
    "amlkit:online_endpoints": [ENDPOINT],
}
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


@dataclass(frozen=True)
class Sent:
    at: datetime
    status: int
    deployment: str


class Client:
    """Sends requests to the front one after another until stopped, recording each."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent: list[Sent] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                at = datetime.now(UTC)
                try:
                    answer = client.post(self.url, json={"data": [[1, 2]]})
                    status, who = (
                        answer.status_code,
                        answer.headers.get("azureml-model-deployment", ""),
                    )
                except httpx.HTTPError:
                    status, who = 0, ""
                self.sent.append(Sent(at, status, who))

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    def wait_for(self, count: int, after: datetime | None = None) -> None:
        """Until `count` requests were sent (after `after`): whatever the machine's speed."""
        deadline = time.monotonic() + 60
        while sum(1 for s in list(self.sent) if after is None or s.at > after) < count:
            assert time.monotonic() < deadline, f"the client sent {len(self.sent)} request(s)"
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    project: Path
    front: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    project = make_project(
        tmp_path_factory.mktemp("rollout"), score=SCORE, weights="w", stacks={"roll": STACK}
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amlkit",
            "local",
            "serve",
            "--stack",
            "roll",
            "--port",
            str(port),
            "--project",
            str(project),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("Serving; press Ctrl-C" in line for line in lines):
            assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        yield Served(project, f"http://127.0.0.1:{port}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()


def _reset(front: str) -> None:
    answer = httpx.put(front + CONTROL_PATH, json={"traffic": {"blue": 100}})
    assert answer.status_code == 200, answer.text


def _spec(**changes: object) -> RolloutSpec:
    data = {**ENDPOINT["rollout"], **changes}  # type: ignore[dict-item]
    return RolloutSpec.model_validate(data)


@dataclass(frozen=True)
class Walk:
    result: RolloutResult
    sent: list[Sent]
    """Every request the client sent, in order (one at a time)."""
    began: list[datetime]
    """When each split write was sent (the engine records when it was acknowledged)."""


def _walk(served: Served, spec: RolloutSpec, state: Path) -> Walk:
    _reset(served.front)
    events: list[Event] = []
    target = connect(served.front)
    timed = _Timed(target.traffic)
    with Client(served.front + "/score") as client:
        client.wait_for(3)  # the client is sending before anything changes
        result = run_rollout(
            spec, replace(target, traffic=timed), WallClock(), state, events.append,
            endpoint="ep-roll",
        )  # fmt: skip
        client.wait_for(3, after=datetime.now(UTC))  # and after
    assert events[-1].kind == "done"
    return Walk(result, client.sent, timed.began)


@dataclass
class _Timed:
    """The local traffic control, with each write's time as it is sent."""

    control: TrafficControl
    began: list[datetime] = field(default_factory=list)

    def read_split(self) -> Split:
        return self.control.read_split()

    def write_split(self, split: Split) -> None:
        self.began.append(datetime.now(UTC))
        self.control.write_split(split)


def test_a_healthy_candidate_reaches_100_through_every_step(served: Served, tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text('{"data": [[1, 2]]}')
    smoke = {"requests": 3, "request_file": str(request)}
    shadow = {"percent": 50, "duration": "PT2S"}
    walk = _walk(served, _spec(smoke=smoke, shadow=shadow), tmp_path / "state.json")
    result, sent = walk.result, walk.sent

    assert result.status == "promoted", result.reason
    smoked, *_ = result.steps
    # A window is inconclusive (and extended) only when a loaded machine sent too few.
    *quiet, shadowed = [s for s in result.steps if s.phase == "shadow"]
    assert all(s.verdict == "inconclusive" for s in quiet)
    # Smoke: straight to green with the deployment header, every answer 200.
    assert (smoked.phase, smoked.verdict, dict(smoked.readings["green"].statuses)) == (
        "smoke",
        "pass",
        {"2xx": 3},
    )
    # Shadow: half the live requests copied to green, gated on green's own answers.
    assert (shadowed.phase, shadowed.verdict) == ("shadow", "pass")
    assert shadowed.readings["green"].requests >= 5
    assert [w.split.mirror for w in result.writes] == [{"green": 50}, {}, {}, {}]
    assert [w.split.traffic for w in result.writes] == [
        {"blue": 100, "green": 0, "bad": 0},
        {"blue": 80, "green": 20, "bad": 0},
        {"blue": 50, "green": 50, "bad": 0},
        {"blue": 0, "green": 100, "bad": 0},
    ]
    passed = [s for s in result.steps if s.phase == "step" and s.verdict == "pass"]
    assert [s.percent for s in passed] == [20, 50, 100]
    assert all(s.readings["green"].requests >= 5 for s in passed)
    live = httpx.get(served.front + CONTROL_PATH).json()
    assert live["traffic"] == {"blue": 0, "green": 100, "bad": 0}
    assert result.final_split is not None and result.final_split.traffic["green"] == 100
    # No request failed while the split moved under the client.
    assert sent and {s.status for s in sent} == {200}
    assert {s.deployment for s in sent} == {"blue", "green"}
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["outcome"] == "promoted" and len(state["writes"]) == 4


def test_a_failing_candidate_is_rolled_back_at_the_first_gate(
    served: Served, tmp_path: Path
) -> None:
    walk = _walk(served, _spec(candidate="bad"), tmp_path / "state.json")
    result, sent = walk.result, walk.sent

    assert result.status == "rolled_back", result.reason
    assert result.reason.startswith("step 20%: error_rate")
    # Rolled back at the first step's gate, on the error rate; a window read before it is
    # inconclusive only when a loaded machine sent too few requests (then extended).
    *early, last = result.steps
    assert (last.percent, last.verdict) == (20, "fail")
    assert all((s.percent, s.verdict) == (20, "inconclusive") for s in early)
    # The window counted n consecutive requests of the bad deployment, every fifth of
    # which fails: n // 5 of them failed, or one more (where the count started).
    reading = last.readings["bad"]
    n, failed_in_window = reading.requests, reading.statuses.get("5xx", 0)
    assert n >= 5 and failed_in_window in (n // 5, -(-n // 5)), reading.statuses
    (check,) = [c for c in last.checks if c.metric == "error_rate"]
    assert check.verdict == "fail" and check.candidate == failed_in_window / n
    assert [w.split.traffic for w in result.writes] == [
        {"blue": 80, "green": 0, "bad": 20},
        {"blue": 100, "green": 0, "bad": 0},
    ]
    live = httpx.get(served.front + CONTROL_PATH).json()
    assert live["traffic"] == {"blue": 100, "green": 0, "bad": 0}
    assert live["mirror_traffic"] == {}

    failed = [s for s in sent if s.status != 200]
    assert failed, "the bad candidate served no failing request"
    # Every failure is the bad deployment's own (500 from its run()), none the rollout's.
    assert {(s.status, s.deployment) for s in failed} == {(500, "bad")}
    # The rollback took effect within the one gate interval: the bad deployment served
    # only requests sent while its step was live, none sent after the rollback write.
    (step_began, _), (_, rollback) = walk.began, result.writes
    window = last.window
    assert window is not None and window.end <= rollback.at
    served_by_bad = [s for s in sent if s.deployment == "bad"]
    assert served_by_bad and all(s.at < rollback.at for s in served_by_bad)
    # Sent before the step's write: at most the one request in flight as it landed (the
    # client sends one at a time).
    assert len([s for s in served_by_bad if s.at < step_began]) <= 1
    after = [s for s in sent if s.at > rollback.at]
    assert after and {s.deployment for s in after} == {"blue"}


def _cli(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amlkit", "rollout", *args, "--project", str(served.project)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )


def _stack_file(served: Served) -> Path:
    return served.project / "stacks" / "Pulumi.roll.yaml"


def _with_comment(served: Served) -> str:
    path = _stack_file(served)
    text = path.read_text()
    if not text.startswith("# "):
        text = "# the rollout test stack: this comment must survive\n" + text
        path.write_text(text)
    return text


def _stack_traffic(served: Served) -> dict[str, int]:
    config = yaml.safe_load(_stack_file(served).read_text())["config"]
    traffic: dict[str, int] = config["amlkit:online_endpoints"][0]["traffic"]
    return traffic


def test_the_command_promotes_reports_and_writes_the_live_split_into_the_stack(
    served: Served, tmp_path: Path
) -> None:
    _reset(served.front)
    original = _with_comment(served)
    report = tmp_path / "out" / "rollout.json"
    try:
        with Client(served.front + "/score"):
            result = _cli(
                served, "--stack", "roll", "--endpoint", "ep-roll", "--local", served.front,
                "--steps", "50,100", "--bake", "PT1S", "--min-requests", "1",
                "--report", str(report), "--state", str(tmp_path / "state.json"),
            )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        data = json.loads(report.read_text())
        assert data["outcome"] == "promoted"
        assert [w["traffic"]["green"] for w in data["writes"]] == [50, 100]
        summary = report.with_suffix(".md").read_text()
        assert "**promoted**" in summary and "| step 50% |" in summary
        assert "step 100%" in result.stdout and "promoted" in result.stdout
        # The stack file now says what is live, comment kept, so `pulumi up` changes nothing.
        text = _stack_file(served).read_text()
        assert text.startswith("# the rollout test stack: this comment must survive\n")
        assert _stack_traffic(served) == {"blue": 0, "green": 100, "bad": 0}
    finally:
        _stack_file(served).write_text(original)


def test_the_command_exits_1_after_a_rollback_and_keeps_the_stack_split(
    served: Served, tmp_path: Path
) -> None:
    _reset(served.front)
    original = _with_comment(served)
    with Client(served.front + "/score"):  # the bad deployment needs traffic to fail
        result = _cli(
            served, "--stack", "roll", "--endpoint", "ep-roll", "--local", served.front,
            "--candidate", "bad", "--bake", "PT2S", "--state", str(tmp_path / "state.json"),
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rolled_back" in result.stdout and "FAIL error_rate" in result.stdout
    assert _stack_file(served).read_text() == original  # live is what it said: unchanged
    assert httpx.get(served.front + CONTROL_PATH).json()["traffic"]["bad"] == 0


def test_status_and_abort_after_the_job_was_killed_mid_step(served: Served, tmp_path: Path) -> None:
    _reset(served.front)
    original = _with_comment(served)
    state = tmp_path / "state.json"
    args = ["--stack", "roll", "--endpoint", "ep-roll", "--state", str(state)]
    job = subprocess.Popen(
        [sys.executable, "-m", "amlkit", "rollout", *args, "--local", served.front,
         "--bake", "PT5M", "--project", str(served.project)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (state.exists() and json.loads(state.read_text())["writes"]):
            assert job.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        job.kill()  # as a cancelled CI job: no chance to clean up
        job.wait()
    assert httpx.get(served.front + CONTROL_PATH).json()["traffic"]["green"] == 20

    shown = _cli(served, "status", *args)
    assert shown.returncode == 0, shown.stderr
    assert "running" in shown.stdout

    aborted = _cli(served, "abort", *args, "--local", served.front)
    assert aborted.returncode == 1, aborted.stdout + aborted.stderr
    assert httpx.get(served.front + CONTROL_PATH).json()["traffic"] == {
        "blue": 100,
        "green": 0,
        "bad": 0,
    }
    assert json.loads(state.read_text())["outcome"] == "aborted"
    assert _stack_traffic(served) == {"blue": 100, "green": 0, "bad": 0}
    _stack_file(served).write_text(original)

    again = _cli(served, "resume", *args, "--local", served.front)
    assert again.returncode == 2 and "already ended (aborted)" in again.stderr


def test_bad_flags_and_an_unreachable_front_are_bad_input(served: Served, tmp_path: Path) -> None:
    base = ["--stack", "roll", "--endpoint", "ep-roll", "--state", str(tmp_path / "s.json")]
    steps = _cli(served, *base, "--local", served.front, "--steps", "50,20")
    assert steps.returncode == 2 and "must increase strictly" in steps.stderr
    candidate = _cli(served, *base, "--local", served.front, "--candidate", "nope")
    assert candidate.returncode == 2 and "not a deployment of ep-roll" in candidate.stderr
    nobody = _cli(served, *base, "--local", f"http://127.0.0.1:{_free_port()}")
    assert nobody.returncode == 2 and "nothing answers there" in nobody.stderr
    endpoint = _cli(served, "--stack", "roll", "--endpoint", "other", "--local", served.front)
    assert endpoint.returncode == 2 and "not an online endpoint of this stack" in endpoint.stderr


def test_ctrl_c_leaves_the_split_and_says_how_to_go_on(served: Served, tmp_path: Path) -> None:
    _reset(served.front)
    state = tmp_path / "state.json"
    job = subprocess.Popen(
        [sys.executable, "-m", "amlkit", "rollout", "--stack", "roll", "--endpoint", "ep-roll",
         "--state", str(state), "--local", served.front, "--bake", "PT5M",
         "--project", str(served.project)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (state.exists() and json.loads(state.read_text())["writes"]):
            assert job.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        job.send_signal(signal.SIGINT)
        _, stderr = job.communicate(timeout=30)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 130, stderr
    assert "amlkit rollout resume --stack roll --endpoint ep-roll" in stderr
    assert json.loads(state.read_text())["outcome"] == "running"
    assert httpx.get(served.front + CONTROL_PATH).json()["traffic"]["green"] == 20
    _reset(served.front)
