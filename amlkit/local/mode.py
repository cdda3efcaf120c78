"""`amlkit local`: a stack's online endpoints, served on this machine, start to stop.

Load the stack, bind a front per endpoint (so a busy port fails before anything
starts), start every deployment's amlkit-serve and wait until each has run init(),
print where everything answers, send the sample request if one was given, then
serve until Ctrl-C (or stop at once with `once`). Deployments are always stopped,
whatever happened.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.markup import escape

from amlkit.specs.project import Project

from .layout import LocalModeError, local_endpoints
from .probe import probe
from .serve import (
    DeploymentServer,
    EndpointFront,
    bind_fronts,
    prepare_workdir,
    serve_fronts,
    start_deployment,
    stop_deployments,
    wait_ready,
)
from .view import endpoints_table, probe_table

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class LocalOptions:
    stack: str
    endpoints: tuple[str, ...] = ()
    port: int = 8080
    request: bytes | None = None
    request_name: str = ""
    once: bool = False
    start_timeout_s: float = 120.0


def workdir(project: Project, stack: str) -> Path:
    """Where model links and deployment logs of a stack's local run live."""
    return project.root / ".amlkit" / "local" / stack


def run_local(project: Project, options: LocalOptions, out: Console, err: Console) -> int:
    """Serve the stack; the exit code. Raises ConfigError and LocalModeError."""
    spec = project.load_spec(options.stack)
    endpoints = local_endpoints(spec, options.endpoints)
    if not endpoints:
        raise LocalModeError(f"stack {options.stack} has no online endpoints to serve")
    runnable = [d for e in endpoints for d in e.deployments]
    if not runnable:
        reasons = "; ".join(
            f"{e.name}/{n.name}: {n.reason}" for e in endpoints for n in e.not_served
        )
        raise LocalModeError(f"no deployment of stack {options.stack} can run locally ({reasons})")
    sockets = bind_fronts(endpoints, options.port)
    fronts = [
        EndpointFront(endpoint, int(sock.getsockname()[1]))
        for endpoint, sock in zip(endpoints, sockets, strict=True)
    ]
    folder = workdir(project, options.stack)
    prepare_workdir(folder, endpoints)
    servers: list[DeploymentServer] = []
    # Deployments run in their own sessions (so that Ctrl-C reaches amlkit first): a
    # SIGTERM or SIGHUP while they start must still reach the `finally` that stops them.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with err.status(f"Starting {len(runnable)} deployment(s): running init()…") as status:
            for deployment in runnable:  # one by one: an interrupt stops those started
                servers.append(start_deployment(deployment, folder))

            def ready(server: DeploymentServer) -> None:
                status.console.print(
                    f"[green]ready[/] {server.deployment.endpoint}/{server.deployment.name} "
                    f"on {server.url}",
                    highlight=False,
                )

            failed = wait_ready(servers, options.start_timeout_s, ready)
        if failed:
            for server, why in failed:
                err.print(
                    f"[red]error[/] deployment {server.deployment.endpoint}/"
                    f"{server.deployment.name} {why}; last lines of {server.log}:",
                    highlight=False,
                )
                for line in server.log_tail():
                    err.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
            for sock in sockets:
                sock.close()
            return EXIT_FAILED
        out.print(endpoints_table(fronts, servers))
        return asyncio.run(_serve(fronts, sockets, servers, options, out, err))
    except KeyboardInterrupt:
        err.print("Interrupted while starting; stopping the deployments.")
        return EXIT_INTERRUPTED
    finally:
        stop_deployments(servers)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


async def _serve(
    fronts: list[EndpointFront],
    sockets: list[socket.socket],
    servers: list[DeploymentServer],
    options: LocalOptions,
    out: Console,
    err: Console,
) -> int:
    code = EXIT_OK

    async def after_start() -> bool:
        nonlocal code
        if options.request is not None:
            results = await probe(fronts, options.request)
            out.print(probe_table(results))
            if not all(r.ok for r in results):
                code = EXIT_FAILED
        if options.once:
            return False
        example = fronts[0].scoring_uri
        data = f"@{options.request_name}" if options.request_name else "'{\"data\": [...]}'"
        out.print(
            f"Try: curl -H 'Content-Type: application/json' -d {data} {example}\n"
            "Name a deployment with -H 'azureml-model-deployment: <name>'. "
            "Auth is not checked locally.\n[bold]Serving; press Ctrl-C to stop.[/]",
            highlight=False,
            soft_wrap=True,
        )
        return True

    def exited(server: DeploymentServer) -> None:
        err.print(
            f"[red]error[/] deployment {server.deployment.endpoint}/{server.deployment.name} "
            f"exited with code {server.process.returncode}; requests to it get 502. "
            f"Its log: {server.log}",
            highlight=False,
            soft_wrap=True,
        )

    await serve_fronts(fronts, sockets, servers, after_start, exited)
    err.print("Stopping: deployments finish their in-flight requests…")
    return code
