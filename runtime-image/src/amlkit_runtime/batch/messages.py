"""The messages between the batch runner and its worker processes, one class each.

They cross a `multiprocessing` pipe pickled, so each is a frozen dataclass of plain
values, defined here at module level where both sides import it.

    runner -> worker   RunMiniBatch, then more of them; Stop
    worker -> runner   Ready once init() has run, or LoadFailed / InitFailed (then it
                       exits); MiniBatchDone or MiniBatchFailed for each RunMiniBatch

A worker that dies says nothing: the runner sees its pipe close (`WorkerExited`,
made on the runner's side, never sent).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunMiniBatch:
    """Call run() on `files`; write its rows to `part` (None: `summary_only`, count them)."""

    index: int
    files: tuple[str, ...]
    part: str | None


@dataclass(frozen=True)
class Stop:
    """Finish: the worker returns and its process exits."""


ToWorker = RunMiniBatch | Stop


@dataclass(frozen=True)
class Ready:
    """The script loaded and init() returned: the worker takes mini-batches."""


@dataclass(frozen=True)
class LoadFailed:
    """The script cannot be loaded (missing, does not import, lacks init/run): bad input."""

    message: str


@dataclass(frozen=True)
class InitFailed:
    """init() raised; `message` is `Type: text` on one line."""

    message: str


@dataclass(frozen=True)
class MiniBatchDone:
    """run() returned `rows` rows (or elements) for mini-batch `index`; they are written."""

    index: int
    rows: int


@dataclass(frozen=True)
class MiniBatchFailed:
    """run() raised, or returned something that is not rows; `error` is one line."""

    index: int
    error: str


@dataclass(frozen=True)
class WorkerExited:
    """The worker's pipe closed: it died (made by the runner, never sent)."""


FromWorker = Ready | LoadFailed | InitFailed | MiniBatchDone | MiniBatchFailed | WorkerExited
