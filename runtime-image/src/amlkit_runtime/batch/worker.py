"""One batch worker process: load score.py, call `init()` once, then `run()` per mini-batch.

Workers are started with the `spawn` method, so each one is a fresh interpreter
that imports the scoring script itself (as on an Azure ML node, one process per
`max_concurrency_per_instance`). The parent talks to a worker over a pipe, with the
typed messages of messages.py.

A worker never enforces the timeout itself: the parent kills it, which also stops
a `run()` stuck in C code or in a sleep.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from amlkit_runtime.batch.messages import (
    InitFailed,
    LoadFailed,
    MiniBatchDone,
    MiniBatchFailed,
    Ready,
    RunMiniBatch,
    ToWorker,
)
from amlkit_runtime.batch.output import count_and_write_rows

log = logging.getLogger("amlkit.batch.worker")


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to know; it is pickled to the spawned process."""

    worker_id: int
    entry_script: str
    app_root: str | None
    log_level: int
    environment: dict[str, str] = field(default_factory=dict)


def one_line(exc: BaseException) -> str:
    """`Type: message` on one line, for the failure report and the console."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def worker_main(conn: Connection, config: WorkerConfig) -> None:
    """Entry point of a worker process; returns when told to stop or the pipe closes."""
    # Ctrl-C reaches the whole process group: the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # print() in score.py goes to stderr, so that stdout carries only the summary.
    sys.stdout.flush()
    os.dup2(2, 1)
    os.environ.update(config.environment)
    logging.basicConfig(
        level=config.log_level,
        format=f"%(asctime)s amlkit-batch[worker {config.worker_id}] %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    from amlkit_runtime.entry_script import EntryScriptError, load_entry_script

    try:
        script = load_entry_script(config.entry_script, app_root=config.app_root)
    except BaseException as exc:  # a SyntaxError or SystemExit in score.py is still bad input
        log.debug("loading %s failed", config.entry_script, exc_info=True)
        if isinstance(exc, EntryScriptError):
            text = " ".join(str(exc).split())  # already names the script
        else:
            text = f"entry script {config.entry_script!r} cannot be loaded: {one_line(exc)}"
        conn.send(LoadFailed(text))
        return
    try:
        script.init()
    except BaseException as exc:
        log.error("init() of %s failed\n%s", config.entry_script, traceback.format_exc())
        conn.send(InitFailed(one_line(exc)))
        return
    conn.send(Ready())
    while True:
        try:
            message: ToWorker = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if not isinstance(message, RunMiniBatch):  # Stop
            return
        try:
            result = script.run(list(message.files))
            rows = count_and_write_rows(result, Path(message.part) if message.part else None)
        except BaseException as exc:
            log.warning("mini-batch %d failed\n%s", message.index, traceback.format_exc())
            conn.send(MiniBatchFailed(message.index, one_line(exc)))
            continue
        conn.send(MiniBatchDone(message.index, rows))
