"""`amlkit local` reports a deployment gone only once every process of it has exited."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from amlkit.local.layout import LocalDeployment
from amlkit.local.serve import DeploymentServer, deployment_gone


def test_a_deployment_whose_supervisor_died_is_not_gone_while_a_worker_lives(
    tmp_path: Path,
) -> None:
    # A process group like a deployment's: the leader (the supervisor) exits at once and
    # leaves a child (a worker) running in the group.
    process = subprocess.Popen(
        ["sh", "-c", "sleep 60 & echo $!"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None
    worker = int(process.stdout.readline())
    process.wait(timeout=10)
    server = DeploymentServer(
        deployment=object.__new__(LocalDeployment), port=0, process=process, log=tmp_path / "log"
    )
    try:
        assert not deployment_gone(server)
    finally:
        os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not deployment_gone(server):  # the worker is reaped by init, not by us
        assert time.monotonic() < deadline, "the group outlived its last process"
        time.sleep(0.05)


def test_a_running_supervisor_is_not_gone(tmp_path: Path) -> None:
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    server = DeploymentServer(
        deployment=object.__new__(LocalDeployment), port=0, process=process, log=tmp_path / "log"
    )
    try:
        assert not deployment_gone(server)
    finally:
        process.kill()
        process.wait()
    assert deployment_gone(server)
