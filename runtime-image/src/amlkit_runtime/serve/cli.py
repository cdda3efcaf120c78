"""`amlkit-serve`: a drop-in for Azure ML's `azmlinfsrv`, same flags and variables.

    amlkit-serve --entry_script score.py --model_dir ./model --port 5001 --worker_count 2

The supervisor (this process) binds the port, then forks `--worker_count` workers
that share the socket, a semaphore for AMLKIT_MAX_CONCURRENT_REQUESTS and a
prometheus-client multiprocess folder. Each worker imports the script and calls
init() once. SIGTERM/SIGINT are passed on: workers stop accepting, finish in-flight
requests and exit. If a worker dies otherwise (init() raised: exit 3, as azmlinfsrv),
the others are stopped and the server exits with that worker's code.

Not supported from azmlinfsrv: `--config_file` (config.json), App Insights, debugpy
and the separate health port; they are accepted and ignored with a warning.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from types import FrameType

from amlkit_runtime.serve.settings import ServeSettings, SettingsError, resolve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amlkit-serve", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--entry_script",
        help="scoring script, relative to the current folder (env AZUREML_ENTRY_SCRIPT: relative to AML_APP_ROOT)",
    )
    parser.add_argument(
        "--model_dir", help="model folder, exported as AZUREML_MODEL_DIR (env AZUREML_MODEL_DIR)"
    )
    parser.add_argument(
        "--port",
        type=int,
        help="port to serve on (default 5001; SERVER_PORT is ignored, as in azmlinfsrv)",
    )
    parser.add_argument(
        "--worker_count", type=int, help="worker processes (env WORKER_COUNT, default 1)"
    )
    parser.add_argument(
        "--access_control_allow_origins",
        help="CORS origins, comma-separated (env AML_CORS_ORIGINS)",
    )
    for ignored in ("--health_port", "--config_file", "--appinsights_instrumentation_key"):
        parser.add_argument(ignored, help="accepted for azmlinfsrv compatibility, ignored")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags, bind, fork the workers and wait for them."""
    args = _parser().parse_args(argv)
    for name in ("health_port", "config_file", "appinsights_instrumentation_key"):
        if getattr(args, name):
            sys.stderr.write(f"amlkit-serve: --{name} is not supported and is ignored\n")
    # As azmlinfsrv's CLI: --entry_script is relative to the current folder, and
    # AML_APP_ROOT defaults to the current folder (the server module's own default,
    # /var/azureml-app, applies only when the CLI is not used).
    os.environ.setdefault("AML_APP_ROOT", os.getcwd())
    try:
        settings = resolve(
            os.environ,
            entry_script=os.path.realpath(args.entry_script) if args.entry_script else None,
            model_dir=args.model_dir,
            port=args.port,
            worker_count=args.worker_count,
            cors_origins=args.access_control_allow_origins,
        )
    except SettingsError as exc:
        sys.stderr.write(f"amlkit-serve: {exc}\n")
        raise SystemExit(2) from None
    raise SystemExit(supervise(settings))


def _listen(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(settings: ServeSettings) -> int:
    """Run the workers until a signal or a worker failure; the exit code."""
    own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="amlkit-metrics-")
    # One listening socket a worker (SO_REUSEPORT): the kernel spreads new connections
    # over the workers. A single shared socket lets whichever worker wakes first accept
    # a whole burst of connections, which keep-alive then pins to it.
    socks = [_listen(settings.host, settings.port, reuse_port=settings.worker_count > 1)]
    port = socks[0].getsockname()[1]
    socks += [
        _listen(settings.host, port, reuse_port=True) for _ in range(settings.worker_count - 1)
    ]
    context = multiprocessing.get_context("fork")
    semaphore = (
        context.Semaphore(settings.max_concurrent_requests)
        if settings.max_concurrent_requests
        else None
    )
    from amlkit_runtime.serve.worker import serve

    workers = []
    for index in range(settings.worker_count):
        process = context.Process(
            target=serve, args=(settings, socks[index], semaphore), daemon=False
        )
        process.start()
        workers.append(process)
    sys.stderr.write(
        f"amlkit-serve: {settings.worker_count} worker(s) on {settings.host}:{port}; "
        "Liveness: GET /liveness, Readiness: GET /readiness and GET /, Score: POST /score, Metrics: GET /metrics\n"
    )
    sys.stderr.flush()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        from multiprocessing.connection import wait

        alive = {process.sentinel: process for process in workers}
        while alive:
            for sentinel in wait(list(alive)):
                process = alive.pop(sentinel)  # type: ignore[arg-type]
                process.join()
                from amlkit_runtime.serve.metrics import mark_worker_dead

                if process.pid is not None:
                    mark_worker_dead(process.pid)
                if not stopping and process.exitcode != 0:
                    code = process.exitcode if process.exitcode and process.exitcode > 0 else 1
                    sys.stderr.write(
                        f"amlkit-serve: worker {process.pid} exited with {process.exitcode}; stopping\n"
                    )
                    stop(signal.SIGTERM, None)
    finally:
        for sock in socks:
            sock.close()
        if own_metrics_dir:
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    return code


if __name__ == "__main__":
    main()
