"""One worker process: load the script, build the app, serve its sockets with uvicorn.

A worker dies with its supervisor: if the supervisor is killed outright (SIGKILL, the
OOM killer), Linux sends each worker SIGTERM (PR_SET_PDEATHSIG), and it stops as on
any SIGTERM, finishing its in-flight requests. Without that, workers would keep
serving their own sockets with nobody to stop them.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing.synchronize
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.sharedctypes import Synchronized

import uvicorn

from amlkit_runtime import aml_compat
from amlkit_runtime.entry_script import EntryScriptError, load_entry_script
from amlkit_runtime.serve import fast_json, sched
from amlkit_runtime.serve.access_log import AccessLog
from amlkit_runtime.serve.metrics import Metrics
from amlkit_runtime.serve.protocol import HttpProtocol
from amlkit_runtime.serve.routes.health import Readiness
from amlkit_runtime.serve.runner import Limiter
from amlkit_runtime.serve.scoring import ScoringScript
from amlkit_runtime.serve.settings import ServeSettings

EXIT_SCRIPT_ERROR = 3  # azmlinfsrv's (and gunicorn's boot error) exit code


def build_app(
    settings: ServeSettings,
    semaphore: multiprocessing.synchronize.Semaphore | None,
    ready_workers: Synchronized[int] | None = None,
) -> object:
    """The ASGI app for `settings`, the CORS layer around it if origins are set.

    Raises EntryScriptError (one line) when the script cannot be served.
    """
    from amlkit_runtime.serve.app import ScoringApp

    aml_compat.install()
    if settings.fast_json:
        fast_json.install()
    if settings.model_dir:
        os.environ["AZUREML_MODEL_DIR"] = settings.model_dir
    if settings.entry_script:
        entry = load_entry_script(settings.entry_script, app_root=settings.app_root)
    else:
        entry = load_entry_script(
            "main.py", app_root=settings.app_root
        )  # azmlinfsrv: `import main`
    script = ScoringScript.analyse(entry)
    app = ScoringApp(
        settings,
        script,
        limiter=Limiter(semaphore),
        metrics=Metrics(settings.deployment_name),
        access_log=AccessLog(settings.deployment_name, enabled=settings.access_log),
        readiness=Readiness(ready_workers, settings.worker_count),
    )
    logging.getLogger("amlkit.serve").info(
        "worker %d: %s, run() takes the %s", os.getpid(), entry.path, script.mode.value
    )
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        return CORSMiddleware(
            app, allow_origins=list(settings.cors_origins), allow_methods=["*"], allow_headers=["*"]
        )
    return app


PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_S = 1.0  # elsewhere, how often a worker checks that its supervisor lives


def die_with_parent(parent_pid: int) -> None:
    """Get SIGTERM when the supervisor `parent_pid` dies (at once if it already has)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    else:  # no parent-death signal: a thread watches the parent

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(PARENT_POLL_S)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="amlkit-parent-watch", daemon=True).start()
    if os.getppid() != parent_pid:  # it died before the signal was asked for
        os.kill(os.getpid(), signal.SIGTERM)


def serve(
    settings: ServeSettings,
    socks: list[socket.socket],
    semaphore: multiprocessing.synchronize.Semaphore | None,
    parent_pid: int,
    ready_workers: Synchronized[int] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; then finish in-flight requests (graceful timeout) and return."""
    die_with_parent(parent_pid)
    logging.basicConfig(
        level=getattr(logging, settings.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        app = build_app(settings, semaphore, ready_workers)
    except EntryScriptError as exc:
        sys.stderr.write(f"amlkit-serve: {exc}\n")
        sys.stderr.flush()
        os._exit(EXIT_SCRIPT_ERROR)
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        loop="uvloop",
        # uvicorn's httptools protocol, one write a response and a read deadline (protocol.py)
        http=HttpProtocol.with_read_timeout(settings.read_timeout_s),
        lifespan="on",
        access_log=False,  # app.py writes its own JSON lines
        proxy_headers=False,  # nothing reads the client address; saves a middleware a request
        server_header=False,
        log_level="warning",
        timeout_keep_alive=settings.keep_alive_s,  # type: ignore[arg-type]  # a float works: call_later
        timeout_graceful_shutdown=max(1, round(settings.graceful_timeout_s)),
        backlog=2048,
    )
    if settings.loop_sched_batch:
        # From here on this thread is the event loop's; scoring threads put the policy back.
        sched.batch_loop_thread()
    uvicorn.Server(config).run(sockets=socks)
