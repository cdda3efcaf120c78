"""Readiness is the instance's: with one worker still in init(), `/readiness` and `/`
answer 503 from every worker, `/liveness` 200; once they answer 200, no request gets a
503 from a worker that is not ready (azmlinfsrv's guarantee: its workers accept nothing
before init() has finished)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from serve_server import launch

pytestmark = pytest.mark.slow

# The first worker to start init() is ready at once; the other sleeps in init().
SLOW_SECOND_INIT = """
import os
import time


def init():
    try:
        os.close(os.open(os.path.join(os.environ["AML_APP_ROOT"], "first"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        time.sleep(4)


def run(raw_data):
    return {"worker": os.getpid()}
"""


def _fresh(url: str) -> int:
    """GET on a new connection (the kernel spreads new connections over the workers)."""
    with httpx.Client() as client:
        return client.get(url, timeout=5).status_code


def test_readiness_waits_for_every_worker(tmp_path: Path) -> None:
    server = launch(tmp_path, SLOW_SECOND_INIT, workers=2, wait_ready=False)
    try:
        deadline = time.monotonic() + 60
        while "finished in worker" not in server.stderr.read_text():
            assert time.monotonic() < deadline, server.stderr.read_text()
            time.sleep(0.05)
        # One worker is ready, the other in init(): probes on either say not ready.
        early = [(_fresh(server.url("/readiness")), _fresh(server.url("/"))) for _ in range(12)]
        assert server.stderr.read_text().count("finished in worker") == 1, "init() too quick"
        assert set(early) == {(503, 503)}
        assert _fresh(server.url("/liveness")) == 200
        while _fresh(server.url("/readiness")) != 200:
            assert time.monotonic() < deadline, server.stderr.read_text()
            time.sleep(0.05)
        assert server.stderr.read_text().count("finished in worker") == 2
        answers = []
        for _ in range(16):
            with httpx.Client() as client:
                response = client.post(server.url("/score"), json={}, timeout=10)
                answers.append((response.status_code, response.json()["worker"]))
        assert {status for status, _ in answers} == {200}
        assert len({worker for _, worker in answers}) == 2  # both workers took requests
    finally:
        server.stop()
