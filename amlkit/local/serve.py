"""Running a stack's online endpoints on this machine: one amlkit-serve a deployment,
one front a endpoint, and an orderly stop.

Each deployment runs as its own `amlkit-serve` process group on 127.0.0.1 (a free
port), started from the deployment's code folder with its environment variables and
AZUREML_MODEL_DIR laid out as on Azure (local_layout.py); its output goes to a log
file. The endpoint fronts (local_router.py) are one uvicorn server in this process,
listening on one port per endpoint. On Ctrl-C or SIGTERM the fronts stop first,
then every deployment gets SIGTERM and finishes its in-flight requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
import uvicorn

from .layout import LocalDeployment, LocalEndpoint, LocalModeError, lay_out_model
from .router import EndpointRouter, PortDispatcher

HOST = "127.0.0.1"
GRACE_S = 35.0  # amlkit-serve's graceful timeout (30 s) and a margin
LOG_TAIL_LINES = 15
# Variables of the caller's shell that would bend a deployment's server: each
# deployment gets its own metrics folder, and the flags name the script and model
# (amlkit-serve then sets AZUREML_ENTRY_SCRIPT to the script's full path, as azmlinfsrv).
_DROPPED_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "AZUREML_ENTRY_SCRIPT", "AZUREML_MODEL_DIR")


# amlkit-serve, started so that it gets SIGTERM (and stops gracefully) if amlkit itself
# dies without a chance to stop it (SIGKILL, the OOM killer): Linux's PR_SET_PDEATHSIG.
_LAUNCH = """\
import ctypes, os, signal, sys
if sys.platform == "linux":
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != int(os.environ["AMLKIT_LOCAL_PARENT"]):
        sys.exit(1)  # amlkit died before the line above
from amlkit_runtime.serve.cli import main
main()
"""


@dataclass
class DeploymentServer:
    """A running amlkit-serve for one deployment."""

    deployment: LocalDeployment
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]


@dataclass(frozen=True)
class EndpointFront:
    """Where an endpoint is served locally."""

    endpoint: LocalEndpoint
    port: int

    @property
    def scoring_uri(self) -> str:
        return f"http://{HOST}:{self.port}/score"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def bind_fronts(endpoints: Sequence[LocalEndpoint], base_port: int) -> list[socket.socket]:
    """One listening socket an endpoint: `base_port`, `base_port + 1`, ... (0: any free port)."""
    sockets: list[socket.socket] = []
    try:
        for index, _ in enumerate(endpoints):
            port = base_port + index if base_port else 0
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError as error:
                sock.close()
                raise LocalModeError(
                    f"--port: cannot listen on {HOST}:{port} ({error.strerror}); "
                    "pass another --port, or --port 0 for free ports"
                ) from None
            sock.listen(1024)
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def start_deployment(deployment: LocalDeployment, workdir: Path) -> DeploymentServer:
    """Start amlkit-serve for `deployment`; it is ready once `wait_ready` says so."""
    model_dir = lay_out_model(
        deployment, workdir / "models" / deployment.endpoint / deployment.name
    )
    log = workdir / "logs" / f"{deployment.endpoint}.{deployment.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_VARIABLES}
    env.update(deployment.variables)
    env.update(
        {
            "AMLKIT_HOST": HOST,
            "AML_APP_ROOT": str(deployment.code_dir),
            "AZUREML_DEPLOYMENT_NAME": deployment.name,
            "AZUREML_ENDPOINT_NAME": deployment.endpoint,
            "PYTHONUNBUFFERED": "1",
            "AMLKIT_LOCAL_PARENT": str(os.getpid()),
        }
    )
    command = [
        sys.executable,
        "-c",
        _LAUNCH,
        "--entry_script",
        str(deployment.code_dir / deployment.scoring_script),
        "--model_dir",
        str(model_dir),
        "--port",
        str(port),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=deployment.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches amlkit, which stops the fronts first
        )
    return DeploymentServer(deployment, port, process, log)


def wait_ready(
    servers: Sequence[DeploymentServer],
    timeout_s: float,
    on_ready: Callable[[DeploymentServer], None] = lambda _: None,
) -> list[tuple[DeploymentServer, str]]:
    """Poll each server's readiness route until all answer 200; the failures, with why."""
    pending = list(servers)
    failed: list[tuple[DeploymentServer, str]] = []
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for server in list(pending):
                code = server.process.poll()
                if code is not None:
                    failed.append((server, f"exited with code {code} before it was ready"))
                    pending.remove(server)
                    continue
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{server.url}/readiness").status_code == 200:
                        pending.remove(server)
                        on_ready(server)
            if pending and time.monotonic() > deadline:
                failed += [
                    (s, f"not ready after {timeout_s:g} s (init() still running?)") for s in pending
                ]
                break
            if pending:
                time.sleep(0.1)
    return failed


def stop_deployments(servers: Sequence[DeploymentServer], grace_s: float = GRACE_S) -> None:
    """SIGTERM every server (in-flight requests finish), then SIGKILL what is left."""
    for server in servers:
        if server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for server in servers:
        try:
            server.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def prepare_workdir(workdir: Path, endpoints: Sequence[LocalEndpoint]) -> None:
    """Fresh model links for these endpoints (a `local-batch` job of the same stack keeps
    its own); logs of the last run are overwritten deployment by deployment."""
    for endpoint in endpoints:
        shutil.rmtree(workdir / "models" / endpoint.name, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)


def deployment_gone(server: DeploymentServer) -> bool:
    """Whether the deployment's supervisor and all its workers have exited.

    They share a process group (the supervisor's own session). Workers get SIGTERM when
    their supervisor dies and then finish their in-flight requests: until the last one
    has exited, the deployment still serves and is not reported gone.
    """
    if server.process.poll() is None:
        return False
    try:
        os.killpg(server.process.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a member of the group still exists
        return False
    return False


async def _watch(
    servers: Sequence[DeploymentServer], on_exit: Callable[[DeploymentServer], None]
) -> None:
    """Call `on_exit` once for each deployment whose processes have all ended."""
    running = list(servers)
    while running:
        await asyncio.sleep(0.5)
        for server in [s for s in running if deployment_gone(s)]:
            running.remove(server)
            on_exit(server)


class _FrontServer(uvicorn.Server):
    """uvicorn, but a signal only stops the fronts: the caller then stops the deployments
    (uvicorn re-raises the signal after shutdown, which would skip that)."""

    stopped_by: int | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopped_by = signum
            self.should_exit = True

        previous = {
            sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


async def serve_fronts(
    fronts: Sequence[EndpointFront],
    sockets: Sequence[socket.socket],
    servers: Sequence[DeploymentServer],
    after_start: Callable[[], Awaitable[bool]],
    on_exit: Callable[[DeploymentServer], None] = lambda _: None,
) -> None:
    """Serve the endpoint fronts until a signal, or until `after_start` returns False.

    `on_exit` hears of each deployment server that stops on its own meanwhile; its
    endpoint then answers 502 for it, naming its log."""
    upstreams = {(s.deployment.endpoint, s.deployment.name): s for s in servers}
    async with httpx.AsyncClient(timeout=httpx.Timeout(310.0, connect=5.0)) as client:
        routers = {
            front.port: EndpointRouter(
                front.endpoint,
                {
                    d.name: upstreams[(front.endpoint.name, d.name)].url
                    for d in front.endpoint.deployments
                },
                client,
                logs={
                    d.name: str(upstreams[(front.endpoint.name, d.name)].log)
                    for d in front.endpoint.deployments
                },
            )
            for front in fronts
        }
        config = uvicorn.Config(
            PortDispatcher(routers),
            lifespan="off",
            access_log=False,
            log_level="warning",
            server_header=False,  # the deployment's own server and date headers pass through
            date_header=False,
        )
        server = _FrontServer(config)
        task = asyncio.ensure_future(server.serve(sockets=list(sockets)))
        watch = asyncio.ensure_future(_watch(servers, on_exit))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if not task.done() and not await after_start():
            server.should_exit = True
        await task
        watch.cancel()
        for router in routers.values():
            await router.drain()
