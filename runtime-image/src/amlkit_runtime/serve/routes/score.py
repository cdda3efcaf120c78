"""`/score`: the body read, a concurrency slot taken, run() called, its result answered.

- POST and GET call run() (GET passes the query, as azmlinfsrv); OPTIONS answers 200
  with an empty body unless run() is `@rawhttp` (then run() answers it); other methods
  405; before init() has finished, 503.
- The body is read before a slot is taken: a client that sends it slowly holds no
  scoring slot (and gets its 408 from the protocol's read deadline). Over the body
  limit: 413. No free slot (AMLKIT_MAX_CONCURRENT_REQUESTS): 429 at once.
- run() past SCORING_TIMEOUT_MS: 500 `Scoring timeout after N ms`; the slot stays
  taken until run() really returns. An exception in run(): 500 with azmlinfsrv's
  text, or 400 when the body was declared JSON and is not (scoring.py).
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson

from amlkit_runtime.aml_compat.aml_request import AMLRequest
from amlkit_runtime.serve.answers import (
    HTML,
    NOT_READY_MESSAGE,
    RUN_FAILED_MESSAGE,
    answer,
    error,
    stream,
)
from amlkit_runtime.serve.asgi import Headers, Receive, Scope, Send, header
from amlkit_runtime.serve.batching import MicroBatcher
from amlkit_runtime.serve.body import BodyTooLarge, ClientGone, ReadTimedOut, read_body
from amlkit_runtime.serve.metrics import Metrics
from amlkit_runtime.serve.routes.health import Readiness
from amlkit_runtime.serve.runner import Limiter, Runner, ScoringTimeout, wait_with_deadline
from amlkit_runtime.serve.scoring import (
    InputError,
    Mode,
    Rendered,
    ScoringScript,
    malformed_json,
    render,
)
from amlkit_runtime.serve.settings import ServeSettings

logger = logging.getLogger("amlkit.serve")
NO_DEADLINE_S = 365 * 86400.0  # a response body's generator has no deadline (as in azmlinfsrv)


class _StreamBroken(Exception):
    """The response body's generator raised after the answer had started: it ends there."""


class ScoreRoute:
    """`/score` of one worker: owns nothing, uses the worker's script, threads and limits."""

    def __init__(
        self,
        settings: ServeSettings,
        script: ScoringScript,
        *,
        runner: Runner,
        limiter: Limiter,
        metrics: Metrics,
        batcher: MicroBatcher | None,
        readiness: Readiness,
    ) -> None:
        self.settings = settings
        self.script = script
        self.runner = runner
        self.limiter = limiter
        self.metrics = metrics
        self.batcher = batcher
        self.readiness = readiness
        self.timeout_s = settings.scoring_timeout_ms / 1000.0

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, method: str, extra: Headers
    ) -> tuple[int, float | None]:
        """Answer one /score request; its status and run()'s milliseconds (None: not called)."""
        rawhttp = self.script.mode is Mode.RAWHTTP
        if method == "OPTIONS" and not rawhttp:
            return await answer(send, 200, b"", extra, HTML), None
        if method not in ("POST", "GET") and not (rawhttp and method == "OPTIONS"):
            return await error(send, 405, "Method not allowed", extra), None
        if not self.readiness.ready:
            return await error(send, 503, NOT_READY_MESSAGE, extra), None
        limit = self.settings.max_body_bytes
        try:
            body = await read_body(scope, receive, limit)
        except BodyTooLarge:
            return await error(send, 413, f"Request body is larger than {limit} bytes", extra), None
        except ReadTimedOut:
            return 408, None
        except ClientGone:
            return 499, None
        if not self.limiter.try_acquire():
            return await error(send, 429, "Too many concurrent requests", extra), None
        self.metrics.started()
        keep_slot = False
        try:
            try:
                rendered, run_ms = await self._run(scope, method, body)
            except InputError as exc:
                return await error(send, exc.status, exc.message, extra), None
            except ScoringTimeout:
                keep_slot = True
                return await self._timed_out(send, extra), None
            except Exception as exc:
                return await self._run_failed(scope, send, method, body, exc, extra), None
            self.metrics.observe_run(run_ms / 1000.0)
            headers = [*extra, (b"x-ms-run-fn-exec-ms", f"{run_ms:.3f}".encode())]
            headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in rendered.headers]
            if rendered.stream is not None:
                chunks = self._chunks(rendered.stream)
                # A broken generator: uvicorn closes the connection, the body cut short.
                with contextlib.suppress(_StreamBroken):
                    await stream(send, rendered.status, chunks, headers, failed=rendered.failed)
                return rendered.status, run_ms
            content_type = rendered.content_type.encode() if rendered.content_type else None
            status = await answer(
                send, rendered.status, rendered.body, headers, content_type, failed=rendered.failed
            )
            return status, run_ms
        finally:
            self.metrics.finished()
            if not keep_slot:
                self.limiter.release()

    async def _chunks(self, items: Iterator[bytes]) -> AsyncIterator[bytes]:
        """A generator's items, each taken in the scoring thread (the generator is user code).

        No deadline applies to the items (azmlinfsrv's timeout covers run() alone); an
        exception in the generator ends the answer where it is, and the log says why."""

        def take() -> bytes | None:
            return next(items, None)

        while True:
            try:
                chunk = await self.runner.call(take, NO_DEADLINE_S)
            except Exception as exc:
                logger.error(
                    "the response body's generator raised:\n%s",
                    "".join(traceback.format_exception(exc)),
                )
                raise _StreamBroken from exc
            if chunk is None:
                return
            if chunk:
                yield chunk

    async def _timed_out(self, send: Send, extra: Headers) -> int:
        timeout_ms = self.settings.scoring_timeout_ms
        self.metrics.run_error("timeout")
        logger.error("run() did not finish within %d ms", timeout_ms)
        return await error(send, 500, f"Scoring timeout after {timeout_ms} ms", extra, failed=True)

    async def _run_failed(
        self, scope: Scope, send: Send, method: str, body: bytes, exc: Exception, extra: Headers
    ) -> int:
        if method == "POST" and (problem := malformed_json(body, header(scope, b"content-type"))):
            # The client's mistake, checked on the body itself: a 400, one log line.
            self.metrics.run_error("bad_json")
            logger.warning(
                "run() raised %s on a body that is not JSON: %s", type(exc).__name__, problem
            )
            text = f"The request body is not valid JSON: {problem}"
            return await error(send, 400, text, extra, failed=True)
        self.metrics.run_error("exception")
        logger.error("run() raised:\n%s", "".join(traceback.format_exception(exc)))
        return await error(send, 500, RUN_FAILED_MESSAGE, extra, failed=True)

    async def _run(self, scope: Scope, method: str, body: bytes) -> tuple[Rendered, float]:
        """run() for one request, gathered with others when micro-batching applies."""
        script = self.script
        if script.mode is Mode.RAWHTTP:
            request = AMLRequest.from_asgi(scope, body)
            arguments: dict[str, Any] = {script.data_parameter: request}
        elif method == "GET":
            arguments = script.query_arguments(scope["query_string"])
        else:
            batcher = self.batcher
            if batcher is not None and batcher.enabled:
                try:
                    rows = batcher.rows_of(orjson.loads(body))
                except orjson.JSONDecodeError:
                    rows = None
                if rows is not None:
                    # After a timeout the slot stays taken until the batch is done.
                    gathered = await wait_with_deadline(
                        batcher.submit(rows), self.timeout_s, on_late_finish=self.limiter.release
                    )
                    if gathered is not None:
                        return gathered
            arguments = script.body_arguments(body, header(scope, b"content-type"))
        headers = _flask_headers(scope["headers"]) if script.wants_headers else None

        def job() -> tuple[Rendered, float]:
            result, run_ms = script.call(arguments, headers)
            return render(result), run_ms

        return await self.runner.call(job, self.timeout_s, on_late_finish=self.limiter.release)


def _flask_headers(raw: Headers) -> dict[str, str]:
    """Request headers as `dict(flask.request.headers)` gives them: `X-Request-Id` keys."""
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").title()
        text = value.decode("latin-1")
        headers[name] = f"{headers[name]},{text}" if name in headers else text
    return headers
