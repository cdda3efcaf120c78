"""The health probes: `GET /` and `/readiness` (ready once init() has finished in every
worker), `/liveness`.

azmlinfsrv has one health route, `GET /`, and a worker of it accepts no connection
before its init() has finished, so once a probe succeeds every request reaches a worker
that can score. amlkit-serve's workers listen from the start, so `/` and `/readiness`
answer 503 until init() has finished in every worker of the instance (a probe fails the
same way; a request a not-yet-ready worker takes would get a 503), while `/liveness`
answers 200 as soon as the process serves. All three are answered on the event loop:
they never wait behind scoring.
"""

from __future__ import annotations

from multiprocessing.sharedctypes import Synchronized

from amlkit_runtime.serve.answers import HTML, NOT_READY_MESSAGE, answer, error
from amlkit_runtime.serve.asgi import Headers, Send


class Readiness:
    """Whether init() has finished: in this worker (`ready`: the score route may call
    run()) and in every worker of the instance (`instance_ready`: the probes).

    `ready_workers` counts the workers whose init() has finished, shared by all of them
    (created by the supervisor before it forks them); None when this is the only one.
    Workers are never replaced (one that exits stops the server), so the count only grows.
    """

    __slots__ = ("_all", "_ready_workers", "_workers", "ready")

    def __init__(self, ready_workers: Synchronized[int] | None = None, workers: int = 1) -> None:
        self.ready = False
        self._ready_workers = ready_workers
        self._workers = workers
        self._all = False

    def set_ready(self) -> None:
        """This worker's init() has finished."""
        self.ready = True
        if self._ready_workers is not None:
            with self._ready_workers.get_lock():
                self._ready_workers.value += 1

    @property
    def instance_ready(self) -> bool:
        """Whether every worker's init() has finished (remembered once true)."""
        if not self._all and self.ready:
            shared = self._ready_workers
            self._all = shared is None or shared.value >= self._workers
        return self._all


async def readiness(send: Send, headers: Headers, state: Readiness) -> int:
    """`GET /` and `GET /readiness`: azmlinfsrv's "Healthy" once every worker is ready, else 503."""
    if state.instance_ready:
        return await answer(send, 200, b"Healthy", headers, HTML, failed=None)
    return await error(send, 503, NOT_READY_MESSAGE, headers)


async def liveness(send: Send, headers: Headers) -> int:
    """`GET /liveness`: 200 while the process serves, even during init()."""
    return await answer(send, 200, b"Alive", headers, b"text/plain; charset=utf-8")
