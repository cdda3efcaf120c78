"""amlkit-serve under concurrency: timeout, 429, health while busy, micro-batching,
metrics summed over workers, graceful shutdown."""

from __future__ import annotations

import json
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from serve_server import SLOW_SCRIPT, Server, launch, serving

pytestmark = pytest.mark.slow

# Echoes the rows it gets, tagged with the size of the run() call they came in.
ECHO_SCRIPT = """
import json
import time


def init():
    pass


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    time.sleep(0.2)
    return [{"row": row, "batch": len(rows)} for row in rows]
"""

# Not a list of one item a row: micro-batching must fall back to one call a request.
SUMMARY_SCRIPT = """
import json


def init():
    pass


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return {"count": len(rows), "first": rows[0]}
"""


def _slow(server: Server, seconds: float, client: httpx.Client | None = None) -> httpx.Response:
    body = json.dumps({"sleep": seconds})
    if client is not None:
        return client.post(server.url("/score"), content=body, timeout=60)
    return httpx.post(server.url("/score"), content=body, timeout=60)


def test_timeout_answers_500_and_frees_the_slot_when_run_returns(tmp_path: Path) -> None:
    env = {"SCORING_TIMEOUT_MS": "300", "AMLKIT_MAX_CONCURRENT_REQUESTS": "1"}
    with serving(tmp_path, SLOW_SCRIPT, env=env) as server:
        response = _slow(server, 1.5)
        assert response.status_code == 500
        assert response.json() == {"message": "Scoring timeout after 300 ms"}
        assert response.headers["x-ms-run-function-failed"] == "True"
        # The timed-out run() still holds the only slot until it returns.
        assert _slow(server, 0).status_code == 429
        deadline = time.monotonic() + 30
        while _slow(server, 0).status_code != 200:
            assert time.monotonic() < deadline, "slot never released"
            time.sleep(0.1)
        assert 'kind="timeout"' in httpx.get(server.url("/metrics")).text


def test_a_queued_request_past_its_deadline_is_dropped_and_frees_its_slot(tmp_path: Path) -> None:
    # One scoring thread: the second request waits behind the first and times out in the queue.
    env = {"SCORING_TIMEOUT_MS": "400", "AMLKIT_MAX_CONCURRENT_REQUESTS": "2"}
    with serving(tmp_path, SLOW_SCRIPT, env=env) as server, ThreadPoolExecutor(2) as pool:
        first = pool.submit(_slow, server, 1.2)
        time.sleep(0.1)
        queued = pool.submit(_slow, server, 0)
        assert [first.result().status_code, queued.result().status_code] == [500, 500]
        deadline = time.monotonic() + 30
        while _slow(server, 0).status_code != 200:  # both slots come back once run() returns
            assert time.monotonic() < deadline, "slots never released"
            time.sleep(0.1)
        assert [r.status_code for r in pool.map(lambda _: _slow(server, 0.1), range(2))] == [
            200,
            200,
        ]
        text = httpx.get(server.url("/metrics")).text
        assert 'amlkit_run_errors_total{deployment="default",kind="timeout"} 2.0' in text


def test_over_the_limit_is_429_and_health_answers_while_busy(tmp_path: Path) -> None:
    env = {"AMLKIT_MAX_CONCURRENT_REQUESTS": "2"}
    with serving(tmp_path, SLOW_SCRIPT, env=env, workers=2) as server:
        with ThreadPoolExecutor(8) as pool:
            busy = [pool.submit(_slow, server, 2.0) for _ in range(2)]
            # Wait until both slots are taken (the in-progress gauge says so).
            deadline = time.monotonic() + 30
            while (
                'amlkit_requests_in_progress{deployment="default"} 2.0'
                not in httpx.get(server.url("/metrics")).text
            ):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            extra = [pool.submit(_slow, server, 0) for _ in range(4)]
            rejected = [future.result() for future in extra]
            health = httpx.get(server.url("/"), timeout=5)
            assert not any(future.done() for future in busy)  # answered while both were scoring
            assert health.status_code == 200 and health.text == "Healthy"
            assert [r.status_code for r in rejected] == [429] * 4
            assert [future.result().status_code for future in busy] == [200, 200]
        assert _slow(server, 0).status_code == 200


def test_metrics_sum_every_worker(tmp_path: Path) -> None:
    with serving(tmp_path, SLOW_SCRIPT, workers=2) as server, ThreadPoolExecutor(8) as pool:
        # New connections each time: the kernel spreads them over both workers.
        statuses = list(pool.map(lambda _: _slow(server, 0.05).status_code, range(40)))
        assert statuses == [200] * 40
        text = httpx.get(server.url("/metrics")).text
        match = re.search(
            r'amlkit_requests_total\{deployment="default",route="/score",status="200"\} (\S+)', text
        )
        assert match is not None and float(match.group(1)) == 40.0


def test_microbatching_gives_each_caller_its_own_rows(tmp_path: Path) -> None:
    env = {"AMLKIT_MICROBATCH_MAX_WAIT_MS": "1000", "AMLKIT_MICROBATCH_MAX_ROWS": "64"}
    with serving(tmp_path, ECHO_SCRIPT, env=env) as server:

        def call(i: int) -> tuple[int, list[dict[str, object]]]:
            rows = [[i, j] for j in range(1 + i % 3)]
            response = httpx.post(
                server.url("/score"), content=json.dumps({"data": rows}), timeout=60
            )
            assert response.status_code == 200
            return i, response.json()

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(48)))
        batch_sizes: set[int] = set()
        for i, answer in results:
            assert [item["row"] for item in answer] == [[i, j] for j in range(1 + i % 3)]
            batch_sizes.update(int(str(item["batch"])) for item in answer)
        # 48 callers against a 0.2 s run(): callers that arrive during one call share the next.
        assert max(batch_sizes) > 3
        # Bodies of another shape are scored alone, as before.
        other = httpx.post(server.url("/score"), content=json.dumps({"data": [[1]], "extra": 1}))
        assert other.json() == [{"row": [1], "batch": 1}]
        assert "amlkit_microbatch_rows_bucket" in httpx.get(server.url("/metrics")).text


def test_microbatching_falls_back_when_run_does_not_return_rows(tmp_path: Path) -> None:
    env = {"AMLKIT_MICROBATCH_MAX_WAIT_MS": "50"}
    with serving(tmp_path, SUMMARY_SCRIPT, env=env) as server, ThreadPoolExecutor(8) as pool:

        def call(i: int) -> object:
            body = json.dumps({"data": [[i], [i + 1]]})
            return httpx.post(server.url("/score"), content=body, timeout=60).json()

        answers = list(pool.map(call, range(16)))
        assert answers == [{"count": 2, "first": [i]} for i in range(16)]
        assert "micro-batching turned off" in server.stderr.read_text()


def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path) -> None:
    server = launch(tmp_path, SLOW_SCRIPT, env={"AMLKIT_GRACEFUL_TIMEOUT_S": "20"}, workers=2)
    try:
        with ThreadPoolExecutor(2) as pool:
            in_flight = pool.submit(_slow, server, 1.5)
            deadline = time.monotonic() + 30
            while (
                'amlkit_requests_in_progress{deployment="default"} 1.0'
                not in httpx.get(server.url("/metrics")).text
            ):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            server.process.send_signal(signal.SIGTERM)
            response = in_flight.result()
            assert response.status_code == 200 and response.json()["pid_ok"] is True
        assert server.process.wait(timeout=30) == 0
        # Access lines are gathered a loop turn: the last one is written before the worker exits.
        finished = [json.loads(line) for line in server.access_lines() if '"/score"' in line]
        assert [(line["status"], line["run_ms"] >= 1500) for line in finished] == [(200, True)]
        with pytest.raises(httpx.TransportError):
            httpx.get(server.url("/"), timeout=2)
    finally:
        if server.process.poll() is None:
            server.process.kill()
