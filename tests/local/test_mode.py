"""`amlkit local serve`, as a user runs it: real amlkit-serve processes behind real endpoint
fronts on 127.0.0.1, routed by a stack's traffic, mirror and deployment header."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from amlkit.cli import EXIT_BAD_CONFIG, EXIT_CHECK_FAILED
from tests.local.local_project import make_project

pytestmark = pytest.mark.slow

SCORE = """\
import json, os, time

def init():
    global weights
    time.sleep(float(os.environ.get("SLOW_INIT", "0")))
    if os.environ.get("FAIL_INIT"):
        raise RuntimeError("init() failed on purpose: " + os.environ["FAIL_INIT"])
    # Azure's layout: the model folder keeps its name under AZUREML_MODEL_DIR.
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.txt")) as f:
        weights = f.read().strip()

def run(raw_data):
    data = json.loads(raw_data)
    time.sleep(data.get("sleep", 0))
    return {
        "deployment": os.environ["AZUREML_DEPLOYMENT_NAME"],
        "colour": os.environ.get("COLOUR"),
        "weights": weights,
        "timeout_ms": os.environ["SCORING_TIMEOUT_MS"],
        "max_concurrent": os.environ["AMLKIT_MAX_CONCURRENT_REQUESTS"],
        "entry_script": os.environ["AZUREML_ENTRY_SCRIPT"],  # the full path, as azmlinfsrv sets it
    }
"""


def _deployment(name: str, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "model": {"path": "../model", "name": "weights"},
        "code_configuration": {"code": "../code", "scoring_script": "score.py"},
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        **extra,
    }


def _stack(endpoint: Mapping[str, object]) -> dict[str, object]:
    return {
        "amlkit:environment": {"name": "loc", "location": "westeurope"},
        "amlkit:online_endpoints": [endpoint],
    }


SPLIT: dict[str, object] = {
    "name": "ep-split",
    "traffic": {"blue": 80, "green": 20, "registered": 0},
    "mirror_traffic": {"shadow": 50},
    "deployments": [
        _deployment(
            "blue",
            environment_variables={"COLOUR": "navy"},
            request_settings={
                "request_timeout_ms": 7000,
                "max_concurrent_requests_per_instance": 3,
            },
        ),
        _deployment("green"),
        _deployment("shadow"),
        {**_deployment("registered"), "model": "azureml:other-model:3"},
    ],
}


BROKEN: dict[str, object] = {
    "name": "ep-broken",
    "traffic": {"blue": 100},
    "deployments": [_deployment("blue", environment_variables={"FAIL_INIT": "bad weights"})],
}


SLOW: dict[str, object] = {
    "name": "ep-slow",
    "traffic": {"blue": 100},
    "deployments": [_deployment("blue", environment_variables={"SLOW_INIT": "60"})],
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path,
        score=SCORE,
        weights="w-42",
        stacks={"split": _stack(SPLIT), "broken": _stack(BROKEN), "slow": _stack(SLOW)},
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _amlkit(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "amlkit", *args, "--project", str(project)]


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`amlkit local serve ...` to its end (with --once or a failure), output captured."""
    return subprocess.run(
        _amlkit(project, "local", "serve", *args),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )


ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


class Served:
    """A running `amlkit local serve`, its output read in the background."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._reader.join(timeout=5)
                raise AssertionError(f"no {text!r} in the output:\n" + "\n".join(self.lines))
            time.sleep(0.05)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def deployment_urls(self) -> dict[str, str]:
        # deployment │ traffic │ mirror │ workers │ served at
        found = re.findall(r"│ (\w+)\s+│[^│]*│[^│]*│[^│]*│ (http://127\.0\.0\.1:\d+)", self.output)
        return dict(found)

    @property
    def score(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"


@pytest.fixture
def served(project: Path) -> Iterator[Served]:
    port = _free_port()
    process = subprocess.Popen(
        _amlkit(project, "local", "serve", "--stack", "split", "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    running = Served(process, port)
    try:
        running.wait_for("Serving; press Ctrl-C to stop.")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()


def test_traffic_split_mirror_and_deployment_header(served: Served) -> None:
    by_deployment: collections.Counter[str] = collections.Counter()
    with httpx.Client(timeout=10) as client:
        for _ in range(200):
            response = client.post(served.score, json={})
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["deployment"] == response.headers["azureml-model-deployment"]
            by_deployment[answer["deployment"]] += 1
        # 80/20 over 200 draws: green's count is 40 ± 17 at 3 sigma.
        assert set(by_deployment) == {"blue", "green"}, by_deployment
        assert 20 <= by_deployment["green"] <= 65, by_deployment

        # A 0% deployment answers when named, as `az ml online-endpoint invoke --deployment-name`.
        named = client.post(served.score, json={}, headers={"azureml-model-deployment": "shadow"})
        assert named.status_code == 200
        assert named.json()["deployment"] == "shadow"

        unknown = client.post(served.score, json={}, headers={"azureml-model-deployment": "teal"})
        assert unknown.status_code == 404
        assert "no deployment 'teal'" in unknown.json()["error"]
        assert "blue, green, shadow, registered" in unknown.json()["error"]

        registered = client.post(
            served.score, json={}, headers={"azureml-model-deployment": "registered"}
        )
        assert registered.status_code == 503
        assert "azureml:other-model:3 is a registered asset" in registered.json()["error"]

        # Half of the 200 routed requests were mirrored to shadow, and only those
        # (the named request above was not): shadow's own metrics count them.
        urls = served.deployment_urls()
        assert set(urls) == {"blue", "green", "shadow"}, served.output
        time.sleep(0.5)  # the last mirrored copies may still be in flight
        metrics = client.get(urls["shadow"] + "/metrics").text
    scored = sum(
        float(value)
        for value in re.findall(
            r'^amlkit_requests_total\{[^}]*route="/score"[^}]*\} (\S+)', metrics, re.M
        )
    )
    # Binomial(200, 0.5) is 100 ± 21 at 3 sigma; +1 for the named request.
    assert 70 <= scored - 1 <= 130, metrics


def test_deployment_runs_with_its_settings_and_azure_model_layout(served: Served) -> None:
    # The table: blue's share, no mirror, one worker (no WORKER_COUNT), and its own URL.
    assert re.search(r"│ blue\s+│ 80%\s+│ -\s+│ 1\s+│ http://127\.0\.0\.1:\d+", served.output)
    assert "auth on Azure: key; not checked here" in served.output
    response = httpx.post(
        served.score, json={}, headers={"azureml-model-deployment": "blue"}, timeout=10
    )
    answer = response.json()
    entry_script = Path(answer.pop("entry_script"))
    assert entry_script.is_absolute() and entry_script.name == "score.py"
    assert (entry_script.parent / "score.py").read_text() == SCORE
    assert answer == {
        "deployment": "blue",
        "colour": "navy",
        "weights": "w-42",
        "timeout_ms": "7000",
        "max_concurrent": "3",
    }
    green = httpx.post(
        served.score, json={}, headers={"azureml-model-deployment": "green"}, timeout=10
    ).json()
    assert (green["timeout_ms"], green["max_concurrent"]) == ("5000", "1")  # Azure's defaults


def test_ctrl_c_finishes_in_flight_requests_then_stops_every_deployment(served: Served) -> None:
    urls = served.deployment_urls()
    result: dict[str, object] = {}

    def slow() -> None:
        response = httpx.post(
            served.score,
            json={"sleep": 1.5},
            headers={"azureml-model-deployment": "green"},
            timeout=20,
        )
        result["status"] = response.status_code

    client = threading.Thread(target=slow)
    client.start()
    time.sleep(0.5)
    served.process.send_signal(signal.SIGINT)
    client.join(timeout=20)
    assert served.process.wait(timeout=40) == 0, served.output
    assert result == {"status": 200}
    for url in urls.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/liveness", timeout=2)


def test_a_deployment_that_dies_is_reported_and_answered_502(served: Served) -> None:
    port = served.deployment_urls()["green"].rsplit(":", 1)[1]
    found = subprocess.run(
        ["pgrep", "-f", f"serve.cli .* {port}$"], capture_output=True, text=True
    ).stdout.split()
    supervisor = min(int(pid) for pid in found)  # its workers were forked after it
    os.killpg(supervisor, signal.SIGKILL)  # its own session: it and its workers
    served.wait_for("deployment ep-split/green exited with code -9; requests to it get 502.", 10)
    response = httpx.post(served.score, json={}, headers={"azureml-model-deployment": "green"})
    assert response.status_code == 502
    assert "deployment green cannot be reached" in response.json()["error"]
    assert "ep-split.green.log" in response.json()["error"]
    blue = httpx.post(served.score, json={}, headers={"azureml-model-deployment": "blue"})
    assert blue.status_code == 200  # the others keep serving


def test_deployments_stop_when_amlkit_is_killed_outright(served: Served, project: Path) -> None:
    assert _processes_of(project), "no deployment processes found"
    served.process.kill()  # SIGKILL: no handler runs; the deployments get SIGTERM from Linux
    deadline = time.monotonic() + 40
    while _processes_of(project):
        assert time.monotonic() < deadline, "deployment processes outlived a killed amlkit"
        time.sleep(0.2)


def _processes_of(project: Path) -> list[str]:
    return subprocess.run(
        ["pgrep", "-f", str(project)], capture_output=True, text=True
    ).stdout.split()


def test_once_sends_the_request_file_and_exits(project: Path) -> None:
    request = project / "request.json"
    request.write_text(json.dumps({"data": [[1, 2]]}))
    result = _run(project, "--stack", "split", "--port", "0", "--once", "-r", str(request))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"ep-split\s+│ (blue|green)\s+│ 200 ", result.stdout), result.stdout


def test_a_failing_init_names_the_deployment_and_shows_its_log(project: Path) -> None:
    result = _run(project, "--stack", "broken", "--port", "0", "--once")
    assert result.returncode == EXIT_CHECK_FAILED, result.stdout + result.stderr
    assert "deployment ep-broken/blue exited with code 3 before it was ready" in result.stderr
    assert "init() failed on purpose: bad weights" in result.stderr
    assert "Traceback" not in result.stdout


def test_sigterm_while_deployments_start_stops_them(project: Path) -> None:
    process = subprocess.Popen(
        _amlkit(project, "local", "serve", "--stack", "slow", "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    log = project / ".amlkit" / "local" / "slow" / "logs" / "ep-slow.blue.log"
    deadline = time.monotonic() + 30
    while not (log.exists() and "amlkit-serve:" in log.read_text()):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=40)
    assert process.returncode == 130, stderr
    assert "Interrupted while starting; stopping the deployments." in stderr
    assert _processes_of(project) == [], "deployment processes outlived amlkit local"


def test_unknown_endpoint_and_busy_port_are_bad_input(project: Path) -> None:
    unknown = _run(project, "--stack", "split", "--endpoint", "nope", "--once")
    assert unknown.returncode == EXIT_BAD_CONFIG
    assert "--endpoint = nope: the stack has no such online endpoint; it has: ep-split" in (
        unknown.stderr
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = _run(project, "--stack", "split", "--port", str(port), "--once")
    assert taken.returncode == EXIT_BAD_CONFIG
    assert f"--port: cannot listen on 127.0.0.1:{port}" in taken.stderr
    assert "Traceback" not in taken.stderr + taken.stdout
