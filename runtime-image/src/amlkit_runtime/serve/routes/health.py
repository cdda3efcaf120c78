"""The health probes: `GET /` and `/readiness` (ready once init() has finished), `/liveness`.

azmlinfsrv has one health route, `GET /`, and is not listening before init() has
finished. amlkit-serve listens from the start, so `/` and `/readiness` answer 503 until
then (a probe fails the same way), while `/liveness` answers 200 as soon as the process
serves. All three are answered on the event loop: they never wait behind scoring.
"""

from __future__ import annotations

from amlkit_runtime.serve.answers import HTML, NOT_READY_MESSAGE, answer, error
from amlkit_runtime.serve.asgi import Headers, Send


class Readiness:
    """Whether this worker's init() has finished; shared by the probes and the score route."""

    __slots__ = ("ready",)

    def __init__(self) -> None:
        self.ready = False


async def readiness(send: Send, headers: Headers, state: Readiness) -> int:
    """`GET /` and `GET /readiness`: azmlinfsrv's "Healthy" once ready, else 503."""
    if state.ready:
        return await answer(send, 200, b"Healthy", headers, HTML, failed=None)
    return await error(send, 503, NOT_READY_MESSAGE, headers)


async def liveness(send: Send, headers: Headers) -> int:
    """`GET /liveness`: 200 while the process serves, even during init()."""
    return await answer(send, 200, b"Alive", headers, b"text/plain; charset=utf-8")
