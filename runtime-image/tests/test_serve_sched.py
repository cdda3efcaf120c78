"""The worker's event loop thread runs in SCHED_BATCH and run() in the policy the worker
had (sched.py), read from the kernel on a real server; AMLKIT_LOOP_SCHED_BATCH=0 leaves
both alone, and a worker started under another policy keeps it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx
import pytest
from serve_server import Server, launch, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="no SCHED_BATCH on this system"),
]

# run() answers from the scoring thread: its policy and the worker's pid (= its main thread,
# the event loop's).
POLICY_SCRIPT = """
import os


def init():
    pass


def run(raw_data):
    return {"worker": os.getpid(), "run_policy": os.sched_getscheduler(0)}
"""


def _policies(server: Server) -> tuple[int, int]:
    """(the event loop thread's policy, run()'s thread's policy) in the worker that answered."""
    answer = httpx.post(server.url("/score"), json={}, timeout=10).json()
    return os.sched_getscheduler(answer["worker"]), answer["run_policy"]


def test_the_loop_thread_does_not_preempt_run(tmp_path: Path) -> None:
    with serving(tmp_path, POLICY_SCRIPT, workers=2) as server:
        seen = {_policies(server) for _ in range(6)}
    assert seen == {(os.SCHED_BATCH, os.SCHED_OTHER)}


def test_the_variable_turns_it_off(tmp_path: Path) -> None:
    with serving(tmp_path, POLICY_SCRIPT, env={"AMLKIT_LOOP_SCHED_BATCH": "0"}) as server:
        assert _policies(server) == (os.SCHED_OTHER, os.SCHED_OTHER)


def test_a_policy_the_worker_was_started_under_is_kept(tmp_path: Path) -> None:
    # Started from a thread in SCHED_IDLE (as `chrt --idle 0 amlkit-serve` would): the
    # server inherits it, and neither thread is moved out of it or into SCHED_BATCH.
    started: list[Server] = []

    def start_idle() -> None:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        started.append(launch(tmp_path, POLICY_SCRIPT))

    starter = threading.Thread(target=start_idle)
    starter.start()
    starter.join()
    server = started[0]
    try:
        assert _policies(server) == (os.SCHED_IDLE, os.SCHED_IDLE)
    finally:
        server.stop()
