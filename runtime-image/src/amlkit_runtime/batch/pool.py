"""The runner's side of one worker process: start it, talk to it, stop or kill it.

Workers are started with `spawn`: each is a fresh interpreter that imports the scoring
script itself, as on an Azure ML node. The runner's end of the pipe is the only one left
open in the runner, so a worker that dies shows as its pipe closing (`WorkerExited`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from amlkit_runtime.batch.messages import FromWorker, Stop, ToWorker, WorkerExited
from amlkit_runtime.batch.settings import BatchSettings
from amlkit_runtime.batch.summary import MiniBatch
from amlkit_runtime.batch.worker import WorkerConfig, worker_main

STOP_WAIT_S = 5.0  # how long a stopped worker may take to exit before it is killed


@dataclass
class WorkerHandle:
    """A worker process, its pipe, and the mini-batch it holds (if any)."""

    slot: int
    process: BaseProcess
    conn: Connection
    ready: bool = False
    batch: MiniBatch | None = None
    deadline: float = 0.0

    def send(self, message: ToWorker) -> None:
        """Send one message to the worker."""
        self.conn.send(message)

    def receive(self) -> FromWorker:
        """The next message; `WorkerExited` when the pipe has closed."""
        try:
            message: FromWorker = self.conn.recv()
        except (EOFError, OSError):
            return WorkerExited()
        return message

    def exit_text(self) -> str:
        """How the process ended, for the failure report: exit code or signal."""
        self.process.join(timeout=STOP_WAIT_S)
        code = self.process.exitcode
        if code is None:
            return "its pipe closed"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def stop(self, *, kill: bool) -> None:
        """Ask the worker to finish (or kill it at once), and reap it."""
        if not kill:
            with contextlib.suppress(OSError):
                self.conn.send(Stop())
            self.process.join(timeout=STOP_WAIT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=STOP_WAIT_S)
        self.conn.close()


def start_worker(settings: BatchSettings, slot: int) -> WorkerHandle:
    """Spawn worker `slot` with the job's environment; it loads the script and runs init()."""
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    environment = dict(settings.environment_variables)
    if settings.model_dir is not None:
        environment["AZUREML_MODEL_DIR"] = str(settings.model_dir.resolve())
    # Azure ML batch jobs tell scripts where to write their own files through this.
    environment["AZUREML_BI_OUTPUT_PATH"] = str(settings.output.resolve())
    config = WorkerConfig(
        worker_id=slot,
        entry_script=str(settings.entry_script),
        app_root=str(settings.app_root) if settings.app_root is not None else None,
        log_level=settings.log_level,
        environment=environment,
    )
    process = ctx.Process(
        target=worker_main, args=(child_end, config), name=f"amlkit-batch-worker-{slot}"
    )
    process.start()
    child_end.close()  # so that the runner sees EOF when the worker dies
    return WorkerHandle(slot=slot, process=process, conn=parent_end)
