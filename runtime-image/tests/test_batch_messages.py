"""The runner and a real worker process talk in typed messages (messages.py), over a pipe."""

from __future__ import annotations

import dataclasses
import pickle
import textwrap
from pathlib import Path

import pytest
from amlkit_runtime.batch.messages import (
    InitFailed,
    LoadFailed,
    MiniBatchDone,
    MiniBatchFailed,
    Ready,
    RunMiniBatch,
    WorkerExited,
)
from amlkit_runtime.batch.pool import start_worker
from amlkit_runtime.batch.settings import BatchSettings

SCRIPT = """
def init():
    pass

def run(mini_batch):
    if any(path.endswith("bad.txt") for path in mini_batch):
        raise ValueError("bad file")
    return [open(path).read().strip() for path in mini_batch]
"""


def _settings(tmp_path: Path, source: str) -> BatchSettings:
    script = tmp_path / "score.py"
    script.write_text(textwrap.dedent(source))
    return BatchSettings(
        entry_script=script, input=tmp_path, output=tmp_path / "out", app_root=tmp_path
    )


def test_messages_are_frozen_and_cross_a_pipe_unchanged() -> None:
    message = RunMiniBatch(3, ("a.csv", "b.csv"), "/tmp/part")
    assert pickle.loads(pickle.dumps(message)) == message
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.index = 4  # type: ignore[misc]


@pytest.mark.slow
def test_a_worker_answers_each_message_with_its_typed_reply(tmp_path: Path) -> None:
    settings = _settings(tmp_path, SCRIPT)
    (tmp_path / "one.txt").write_text("1\n")
    (tmp_path / "bad.txt").write_text("x\n")
    part = tmp_path / "part"
    worker = start_worker(settings, 0)
    try:
        assert worker.receive() == Ready()
        worker.send(RunMiniBatch(0, (str(tmp_path / "one.txt"),), str(part)))
        assert worker.receive() == MiniBatchDone(0, 1)
        assert part.read_text() == "1\n"
        worker.send(RunMiniBatch(1, (str(tmp_path / "bad.txt"),), None))
        assert worker.receive() == MiniBatchFailed(1, "ValueError: bad file")
    finally:
        worker.stop(kill=False)
    assert worker.process.exitcode == 0  # Stop() ends it cleanly
    assert worker.receive() == WorkerExited()


@pytest.mark.slow
def test_a_worker_reports_why_it_cannot_start(tmp_path: Path) -> None:
    broken = start_worker(_settings(tmp_path, "def init(): pass\n"), 0)
    try:
        reply = broken.receive()
        assert isinstance(reply, LoadFailed) and "does not define run()" in reply.message
    finally:
        broken.stop(kill=True)
    failing = start_worker(
        _settings(tmp_path, "def init():\n    1 / 0\ndef run(b):\n    return b\n"), 0
    )
    try:
        assert failing.receive() == InitFailed("ZeroDivisionError: division by zero")
    finally:
        failing.stop(kill=True)
