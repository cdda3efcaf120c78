"""`amlkit-serve`: a drop-in for Azure ML's `azmlinfsrv`, same flags and variables.

    amlkit-serve --entry_script score.py --model_dir ./model --port 5001 --worker_count 2

The supervisor (this process) binds the port (and the health port, with
SEPERATE_HEALTH_ENDPOINT=true), then forks `--worker_count` workers, each with its own
listening socket (listen.py), sharing a semaphore for AMLKIT_MAX_CONCURRENT_REQUESTS and
a prometheus-client multiprocess folder. Each worker imports the script and calls init()
once. SIGTERM/SIGINT are passed on: workers stop accepting, finish in-flight requests
and exit. If a worker dies otherwise (init() raised: exit 3, as azmlinfsrv), the others
are stopped and the server exits with that worker's code; if the supervisor dies, its
workers get SIGTERM (worker.py). A port in use, or a bad setting, is one line and exit 2.

The script's environment is azmlinfsrv's (azure_env.py): AZUREML_ENTRY_SCRIPT,
AZUREML_CONFIG_FILE, HTTP_X_MS_SERVER_VERSION, AML_APP_INSIGHTS_*, SERVER_PORT,
HEALTH_PORT and WORKER_COUNT. Not supported: App Insights telemetry itself and debugpy.
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
from multiprocessing.connection import wait
from types import FrameType

from amlkit_runtime.serve.azure_env import export_variables, read_config_file
from amlkit_runtime.serve.listen import PortInUse, listen
from amlkit_runtime.serve.settings import ServeSettings, SettingsError, resolve

EXIT_USAGE = 2  # a bad flag or setting, a port in use


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
        "--health_port",
        type=int,
        help="second port serving the same routes, with SEPERATE_HEALTH_ENDPOINT=true (default 5000)",
    )
    parser.add_argument(
        "--worker_count", type=int, help="worker processes (env WORKER_COUNT, default 1)"
    )
    parser.add_argument(
        "--access_control_allow_origins",
        help="CORS origins, comma-separated (env AML_CORS_ORIGINS)",
    )
    parser.add_argument(
        "--config_file",
        help="config.json of settings (env AZUREML_CONFIG_FILE; else config.json in AML_APP_ROOT)",
    )
    parser.add_argument(
        "--appinsights_instrumentation_key",
        help="exported as AML_APP_INSIGHTS_KEY, with AML_APP_INSIGHTS_ENABLED=true if it is a UUID "
        "(no telemetry is sent by amlkit-serve)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags, bind, fork the workers and wait for them."""
    args = _parser().parse_args(argv)
    # As azmlinfsrv's CLI: --entry_script is relative to the current folder, and
    # AML_APP_ROOT defaults to the current folder (the server module's own default,
    # /var/azureml-app, applies only when the CLI is not used).
    os.environ.setdefault("AML_APP_ROOT", os.getcwd())
    try:
        export_variables(
            os.environ,
            entry_script=args.entry_script,
            config_file=args.config_file,
            appinsights_key=args.appinsights_instrumentation_key,
        )
        settings = resolve(
            {**read_config_file(os.environ), **os.environ},
            entry_script=os.path.realpath(args.entry_script) if args.entry_script else None,
            model_dir=args.model_dir,
            port=args.port,
            worker_count=args.worker_count,
            cors_origins=args.access_control_allow_origins,
            health_port=args.health_port,
        )
        ports = [listen(settings.host, settings.port, settings.worker_count)]
        if settings.health_port is not None:
            ports.append(listen(settings.host, settings.health_port, settings.worker_count))
    except (SettingsError, PortInUse) as exc:
        sys.stderr.write(f"amlkit-serve: {exc}\n")
        raise SystemExit(EXIT_USAGE) from None
    raise SystemExit(supervise(settings, ports))


def supervise(settings: ServeSettings, ports: list[list[socket.socket]]) -> int:
    """Run one worker a socket of each port until a signal or a worker failure; the exit code."""
    own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="amlkit-metrics-")
    port = ports[0][0].getsockname()[1]
    health_port = ports[-1][0].getsockname()[1]
    os.environ.update(
        SERVER_PORT=str(port), HEALTH_PORT=str(health_port), WORKER_COUNT=str(settings.worker_count)
    )
    context = multiprocessing.get_context("fork")
    semaphore = (
        context.Semaphore(settings.max_concurrent_requests)
        if settings.max_concurrent_requests
        else None
    )
    # Workers whose init() has finished: /readiness waits for all of them (routes/health.py).
    ready_workers = context.Value("i", 0)
    from amlkit_runtime.serve.worker import serve

    workers = []
    for index in range(settings.worker_count):
        socks = [sockets[index] for sockets in ports]
        process = context.Process(
            target=serve,
            args=(settings, socks, semaphore, os.getpid(), ready_workers),
            daemon=False,
        )
        process.start()
        workers.append(process)
    health = f", Health port: {health_port}" if len(ports) > 1 else ""
    sys.stderr.write(
        f"amlkit-serve: {settings.worker_count} worker(s) on {settings.host}:{port}{health}; "
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
        for sockets in ports:
            for sock in sockets:
                sock.close()
        if own_metrics_dir:
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    return code


if __name__ == "__main__":
    main()
