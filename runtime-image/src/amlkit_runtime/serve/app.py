"""The ASGI app of amlkit-serve: azmlinfsrv's routes and answers, without its queueing.

A plain ASGI callable rather than a Starlette app: there are six fixed routes, and
the per-request work (routing, Request/Response objects) of a framework is a large
share of the cost of a 0.3 ms model call. Starlette still provides the CORS layer.

Routes (azmlinfsrv's, plus amlkit's probes and metrics):
- `GET /` "Healthy" once init() has finished, 503 before (azmlinfsrv is not
  listening before init(), so a probe fails the same way); answered on the event
  loop, so it never waits behind scoring requests;
- `GET /liveness` (200 while the process serves), `GET /readiness` (= `GET /`);
- `POST|GET|OPTIONS /score`, other methods 405; `GET /swagger.json?version=`;
- `GET /metrics` (Prometheus text, all workers); anything else 404 JSON.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from amlkit_runtime.aml_compat.aml_request import AMLRequest
from amlkit_runtime.serve.access_log import AccessLog
from amlkit_runtime.serve.batching import MicroBatcher
from amlkit_runtime.serve.metrics import Metrics
from amlkit_runtime.serve.protocol import READ_TIMED_OUT
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
from amlkit_runtime.serve.swagger import Swagger, SwaggerError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

logger = logging.getLogger("amlkit.serve")
HEADER_LIMIT = 100  # azmlinfsrv's limit on request id headers, answered with 431
RUN_FAILED_MESSAGE = "An unexpected error occurred in scoring script. Check the logs for more info."
NOT_FOUND_MESSAGE = (
    "The requested URL was not found on the server. If you entered the URL manually please check "
    "your spelling and try again."
)
_JSON = b"application/json"
_ROUTES = {
    "/": "/",
    "/score": "/score",
    "/liveness": "/liveness",
    "/readiness": "/readiness",
    "/metrics": "/metrics",
    "/swagger.json": "/swagger.json",
}


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


class _ReadTimedOut(Exception):
    """The protocol's read deadline passed before the body arrived; it answered 408."""


class ScoringApp:
    """One worker's app: owns the script, its scoring threads and the batcher."""

    def __init__(
        self,
        settings: ServeSettings,
        script: ScoringScript,
        *,
        limiter: Limiter,
        metrics: Metrics,
        access_log: AccessLog,
    ) -> None:
        self.settings = settings
        self.script = script
        self.limiter = limiter
        self.metrics = metrics
        self.access_log = access_log
        self.runner = Runner(settings.scoring_threads)
        self.ready = False
        self.timeout_s = settings.scoring_timeout_ms / 1000.0
        self.batcher = (
            MicroBatcher(
                script,
                self.runner,
                key=settings.microbatch_key,
                max_rows=settings.microbatch_max_rows,
                max_wait_s=settings.microbatch_max_wait_ms / 1000.0,
                threads=settings.scoring_threads,
                on_batch=lambda rows, run_ms: metrics.observe_batch(rows),
            )
            if settings.microbatching
            else None
        )
        self.swagger = Swagger(
            settings.app_root,
            script.entry.run,
            title=settings.service_name,
            version=settings.service_version,
            prefix=settings.service_path_prefix,
        )
        self._version_header = (b"x-ms-server-version", settings.server_version.encode("latin-1"))

    # -- lifespan ----------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # init() runs in the scoring thread (the thread run() will use), while the
                # server already answers /liveness, and 503 on / and /readiness.
                self.runner.submit(self.script.entry.init).add_done_callback(self._init_done)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.runner.shutdown()
                self.metrics.flush()
                self.access_log.flush()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _init_done(self, future: asyncio.Future[None]) -> None:
        exc = future.exception()
        if exc is None:
            # Everything init() loaded (the model) lives as long as the process: keep it out
            # of the garbage collector's scans, which otherwise stall requests (p99).
            gc.freeze()
            self.ready = True
            logger.info("init() finished in worker %d: ready", os.getpid())
            return
        # As azmlinfsrv: an init() that raises stops the server (exit code 3).
        sys.stderr.write(
            f"amlkit-serve: init() of {self.script.entry.path} raised {type(exc).__name__}: {exc}\n"
            + "".join(traceback.format_exception(exc))
        )
        sys.stderr.flush()
        os._exit(3)

    # -- HTTP ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        start = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        ids, problem = _request_ids(scope["headers"])
        extra = [*ids, self._version_header]
        run_ms: float | None = None
        if problem is not None:
            status = await _answer(send, 431, _message(problem), extra, _JSON)
        elif path == "/score":
            status, run_ms = await self._score(scope, receive, send, method, extra)
        elif method not in ("GET", "HEAD"):
            status = await _answer(
                send,
                404 if path not in _ROUTES else 405,
                _message(NOT_FOUND_MESSAGE if path not in _ROUTES else "Method not allowed"),
                extra,
                _JSON,
            )
        elif path == "/" or path == "/readiness":
            if self.ready:
                status = await _answer(send, 200, b"Healthy", extra, b"text/html; charset=utf-8")
            else:
                status = await _answer(send, 503, _message("init() has not finished"), extra, _JSON)
        elif path == "/liveness":
            status = await _answer(send, 200, b"Alive", extra, b"text/plain; charset=utf-8")
        elif path == "/metrics":
            body, content_type = self.metrics.exposition()
            status = await _answer(send, 200, body, extra, content_type.encode())
        elif path == "/swagger.json":
            version = parse_qs(scope["query_string"].decode("latin-1")).get("version", [None])[0]
            try:
                status = await _answer(
                    send, 200, orjson.dumps(self.swagger.get(version)), extra, _JSON
                )
            except SwaggerError as exc:
                status = await _answer(send, 404, _message(str(exc)), extra, _JSON)
        else:
            status = await _answer(send, 404, _message(NOT_FOUND_MESSAGE), extra, _JSON)
        elapsed = time.perf_counter() - start
        self.metrics.observe(_ROUTES.get(path, "other"), status, elapsed)
        if self.access_log.enabled and path != "/metrics":
            query = scope["query_string"]
            self.access_log.write(
                method,
                f"{path}?{query.decode('latin-1')}" if query else path,
                status,
                elapsed * 1000.0,
                ids[0][1].decode("latin-1") if ids else "",
                run_ms,
            )

    async def _score(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        method: str,
        extra: list[tuple[bytes, bytes]],
    ) -> tuple[int, float | None]:
        rawhttp = self.script.mode is Mode.RAWHTTP
        if method == "OPTIONS" and not rawhttp:
            return await _answer(send, 200, b"", extra, b"text/html; charset=utf-8"), None
        if method not in ("POST", "GET") and not (rawhttp and method == "OPTIONS"):
            return await _answer(send, 405, _message("Method not allowed"), extra, _JSON), None
        if not self.ready:
            return await _answer(send, 503, _message("init() has not finished"), extra, _JSON), None
        # The body is read before a slot is taken: a client that sends it slowly holds no
        # scoring slot (and gets its 408 from the protocol's read deadline).
        try:
            body = await _read_body(scope, receive, self.settings.max_body_bytes)
        except _TooLarge:
            return await _answer(
                send,
                413,
                _message(f"Request body is larger than {self.settings.max_body_bytes} bytes"),
                extra,
                _JSON,
            ), None
        except _ReadTimedOut:
            return 408, None
        except _Gone:
            return 499, None
        if not self.limiter.try_acquire():
            return await _answer(
                send, 429, _message("Too many concurrent requests"), extra, _JSON
            ), None
        self.metrics.started()
        keep_slot = False
        try:
            try:
                answer, run_ms = await self._run(scope, method, body)
            except InputError as exc:
                return await _answer(send, exc.status, _message(exc.message), extra, _JSON), None
            except ScoringTimeout:
                keep_slot = True
                self.metrics.run_error("timeout")
                logger.error("run() did not finish within %d ms", self.settings.scoring_timeout_ms)
                return await _answer(
                    send,
                    500,
                    _message(f"Scoring timeout after {self.settings.scoring_timeout_ms} ms"),
                    extra,
                    _JSON,
                    failed=True,
                ), None
            except Exception as exc:
                if method == "POST" and (
                    problem := malformed_json(body, _header(scope, b"content-type"))
                ):
                    # The client's mistake, checked on the body itself: a 400, one log line.
                    self.metrics.run_error("bad_json")
                    logger.warning(
                        "run() raised %s on a body that is not JSON: %s",
                        type(exc).__name__,
                        problem,
                    )
                    return await _answer(
                        send,
                        400,
                        _message(f"The request body is not valid JSON: {problem}"),
                        extra,
                        _JSON,
                        failed=True,
                    ), None
                self.metrics.run_error("exception")
                logger.error("run() raised:\n%s", "".join(traceback.format_exception(exc)))
                return await _answer(
                    send, 500, _message(RUN_FAILED_MESSAGE), extra, _JSON, failed=True
                ), None
            self.metrics.observe_run(run_ms / 1000.0)
            headers = [*extra, (b"x-ms-run-fn-exec-ms", f"{run_ms:.3f}".encode())]
            headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
            content_type = answer.content_type.encode() if answer.content_type else None
            status = await _answer(
                send, answer.status, answer.body, headers, content_type, failed=answer.failed
            )
            return status, run_ms
        finally:
            self.metrics.finished()
            if not keep_slot:
                self.limiter.release()

    async def _run(self, scope: Scope, method: str, body: bytes) -> tuple[Rendered, float]:
        """run() for one request, gathered with others when micro-batching applies."""
        script = self.script
        timeout_s = self.timeout_s
        if script.mode is Mode.RAWHTTP:
            arguments: dict[str, Any] = {script.data_parameter: _aml_request(scope, method, body)}
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
                        batcher.submit(rows), timeout_s, on_late_finish=self.limiter.release
                    )
                    if gathered is not None:
                        return gathered
            arguments = script.body_arguments(body, _header(scope, b"content-type"))
        headers = _flask_headers(scope["headers"]) if script.wants_headers else None

        def job() -> tuple[Rendered, float]:
            result, run_ms = script.call(arguments, headers)
            return render(result), run_ms

        return await self.runner.call(job, timeout_s, on_late_finish=self.limiter.release)


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    content_type: bytes | None,
    *,
    failed: bool = False,
) -> int:
    out = [
        (b"content-length", str(len(body)).encode()),
        (b"x-ms-run-function-failed", b"True" if failed else b"False"),
    ]
    if content_type is not None:
        out.append((b"content-type", content_type))
    out.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})
    return status


def _message(text: str) -> bytes:
    return orjson.dumps({"message": text})


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _ReadTimedOut if scope.get(READ_TIMED_OUT) else _Gone
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > limit:
            raise _TooLarge
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ReadTimedOut if scope.get(READ_TIMED_OUT) else _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _request_ids(raw: list[tuple[bytes, bytes]]) -> tuple[list[tuple[bytes, bytes]], str | None]:
    """Headers echoed as azmlinfsrv does, and the 431 message if an id is too long."""
    request_id = client_id = legacy_id = trace_id = None
    for key, value in raw:
        if key == b"x-request-id":
            request_id = value
        elif key == b"x-ms-client-request-id":
            client_id = value
        elif key == b"x-ms-request-id":
            legacy_id = value
        elif key == b"traceid":
            trace_id = value
    if request_id is None:
        request_id = _new_request_id()
    elif len(request_id) > HEADER_LIMIT:
        return [], f"x-request-id must not exceed {HEADER_LIMIT} characters"
    out = [(b"x-request-id", request_id)]
    if legacy_id and not client_id:
        client_id = legacy_id
    elif not legacy_id:
        legacy_id = client_id or request_id
    if len(legacy_id) > HEADER_LIMIT or (client_id is not None and len(client_id) > HEADER_LIMIT):
        return (
            out,
            f"x-ms-request-id and x-ms-client-request-id must not exceed {HEADER_LIMIT} characters",
        )
    out.append((b"x-ms-request-id", legacy_id))
    if client_id:
        out.append((b"x-ms-client-request-id", client_id))
    if trace_id is not None:
        out.append((b"TraceId", trace_id))
    return out, None


class _RequestIds:
    """Random (version 4) UUIDs, as azmlinfsrv's `uuid.uuid4()`, with one read of the OS's
    randomness for 256 of them instead of one a request. Filled lazily: in the worker,
    after the fork, so that workers never share ids."""

    def __init__(self) -> None:
        self._pool: list[bytes] = []

    def __call__(self) -> bytes:
        if not self._pool:
            raw = bytearray(os.urandom(16 * 256))
            raw[6::16] = bytes((byte & 0x0F) | 0x40 for byte in raw[6::16])  # version 4
            raw[8::16] = bytes((byte & 0x3F) | 0x80 for byte in raw[8::16])  # RFC 4122 variant
            text = raw.hex().encode()
            self._pool = [
                b"-".join(
                    (
                        text[i : i + 8],
                        text[i + 8 : i + 12],
                        text[i + 12 : i + 16],
                        text[i + 16 : i + 20],
                        text[i + 20 : i + 32],
                    )
                )
                for i in range(0, len(text), 32)
            ]
        return self._pool.pop()


_new_request_id = _RequestIds()


def _flask_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers as `dict(flask.request.headers)` gives them: `X-Request-Id` keys."""
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").title()
        text = value.decode("latin-1")
        headers[name] = f"{headers[name]},{text}" if name in headers else text
    return headers


def _aml_request(scope: Scope, method: str, body: bytes) -> AMLRequest:
    client = scope.get("client")
    return AMLRequest(
        method=method,
        path=scope["path"],
        query_string=scope["query_string"],
        headers=[(k.decode("latin-1").title(), v.decode("latin-1")) for k, v in scope["headers"]],
        body=body,
        scheme=scope.get("scheme", "http"),
        remote_addr=client[0] if client else None,
    )
