"""The ASGI app of amlkit-serve: azmlinfsrv's routes and answers, without its queueing.

A plain ASGI callable rather than a Starlette app: there are six fixed routes, and
the per-request work (routing, Request/Response objects) of a framework is a large
share of the cost of a 0.3 ms model call. Starlette still provides the CORS layer.

This module routes and keeps the books (metrics, access log); each route lives in
`routes/`:
- `GET /`, `/readiness`, `/liveness` (routes/health.py);
- `POST|GET|OPTIONS /score`, other methods 405 (routes/score.py);
- `GET /swagger.json?version=` (routes/swagger.py), `GET /metrics` (routes/metrics.py);
- anything else 404 JSON, a known path with another method 405.
Every answer of a route echoes the request ids (request_ids.py) and carries
`x-ms-server-version`; the 404 and 405 of routing carry neither, as azmlinfsrv's (Flask
answers them before its request hooks run).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
import traceback

from amlkit_runtime.serve.access_log import AccessLog
from amlkit_runtime.serve.answers import METHOD_NOT_ALLOWED_MESSAGE, NOT_FOUND_MESSAGE, error
from amlkit_runtime.serve.asgi import Headers, Receive, Scope, Send
from amlkit_runtime.serve.batching import MicroBatcher
from amlkit_runtime.serve.metrics import Metrics
from amlkit_runtime.serve.request_ids import request_ids
from amlkit_runtime.serve.routes.health import Readiness, liveness, readiness
from amlkit_runtime.serve.routes.metrics import metrics_route
from amlkit_runtime.serve.routes.score import ScoreRoute
from amlkit_runtime.serve.routes.swagger import swagger_route
from amlkit_runtime.serve.runner import Limiter, Runner
from amlkit_runtime.serve.scoring import ScoringScript
from amlkit_runtime.serve.settings import ServeSettings
from amlkit_runtime.serve.swagger import Swagger

logger = logging.getLogger("amlkit.serve")
# Paths as metrics label them; any other path is "other".
ROUTES = frozenset({"/", "/score", "/liveness", "/readiness", "/metrics", "/swagger.json"})
_SCORE_METHODS = ("POST", "GET", "OPTIONS", "HEAD")  # azmlinfsrv's route, HEAD added by Flask


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
        readiness: Readiness | None = None,
    ) -> None:
        self.settings = settings
        self.script = script
        self.metrics = metrics
        self.access_log = access_log
        self.runner = Runner(settings.scoring_threads)
        self.readiness = readiness or Readiness()
        batcher = (
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
        self.score = ScoreRoute(
            settings,
            script,
            runner=self.runner,
            limiter=limiter,
            metrics=metrics,
            batcher=batcher,
            readiness=self.readiness,
        )
        self.swagger = Swagger(
            settings.app_root,
            script.entry.run,
            title=settings.service_name,
            version=settings.service_version,
            prefix=settings.service_path_prefix,
        )
        version = settings.server_version
        self._version_header = (
            [(b"x-ms-server-version", version.encode("latin-1"))] if version else []
        )

    # -- lifespan ----------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # init() runs in the scoring thread (the thread run() will use), while the
                # server already answers /liveness, and 503 on / and /readiness (until
                # every worker's init() has finished).
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
            self.readiness.set_ready()
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
        ids: Headers = []
        run_ms: float | None = None
        if path not in ROUTES:
            # Flask's routing answers before azmlinfsrv's request hooks: no ids echoed.
            status = await error(send, 404, NOT_FOUND_MESSAGE, [])
        elif method not in (_SCORE_METHODS if path == "/score" else ("GET", "HEAD")):
            status = await error(send, 405, METHOD_NOT_ALLOWED_MESSAGE, [])
        else:
            ids, problem = request_ids(scope["headers"])
            extra = [*ids, *self._version_header]
            if problem is not None:
                status = await error(send, 431, problem, extra)
            elif path == "/score":
                status, run_ms = await self.score(scope, receive, send, method, extra)
            elif path == "/" or path == "/readiness":
                status = await readiness(send, extra, self.readiness)
            elif path == "/liveness":
                status = await liveness(send, extra)
            elif path == "/metrics":
                status = await metrics_route(send, extra, self.metrics)
            else:
                status = await swagger_route(scope, send, extra, self.swagger)
        elapsed = time.perf_counter() - start
        self.metrics.observe(path if path in ROUTES else "other", status, elapsed)
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
