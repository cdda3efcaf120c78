"""Start a real `amlkit-serve` (the CLI, as a subprocess) on a free loopback port for a test."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# A scoring script that sleeps for the body's `sleep` seconds and echoes its `data` as `rows`.
SLOW_SCRIPT = """
import json
import time


def init():
    pass


def run(raw_data):
    payload = json.loads(raw_data)
    time.sleep(payload.get("sleep", 0))
    return {"pid_ok": True, "rows": payload.get("data")}
"""

_PORT = re.compile(r"worker\(s\) on 127\.0\.0\.1:(\d+)")


@dataclass
class Server:
    """A running server: its base URL, process and log files."""

    process: subprocess.Popen[bytes]
    base: str
    stdout: Path
    stderr: Path

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this server."""
        return self.base + path

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def access_lines(self) -> list[str]:
        """The JSON access lines written so far."""
        return [line for line in self.stdout.read_text().splitlines() if '"amlkit.access"' in line]


def launch(
    tmp_path: Path,
    script: str,
    *,
    env: dict[str, str] | None = None,
    workers: int = 1,
    model_dir: Path | None = None,
    wait_ready: bool = True,
) -> Server:
    """Write `script` as score.py in a fresh app root and serve it."""
    app_root = tmp_path / f"app-{time.monotonic_ns()}"
    app_root.mkdir()
    (app_root / "score.py").write_text(script)
    full_env = {
        **os.environ,
        "AML_APP_ROOT": str(app_root),
        "AMLKIT_HOST": "127.0.0.1",
        "WORKER_COUNT": str(workers),
        **(env or {}),
    }
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if model_dir is not None:
        full_env["AZUREML_MODEL_DIR"] = str(model_dir)
    stdout, stderr = app_root / "stdout.log", app_root / "stderr.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amlkit_runtime.serve.cli",
            "--entry_script",
            str(app_root / "score.py"),
            "--port",
            "0",
        ],
        env=full_env,
        stdout=stdout.open("wb"),
        stderr=stderr.open("wb"),
    )
    deadline = time.monotonic() + 60
    port = None
    while port is None:
        match = _PORT.search(stderr.read_text())
        if match:
            port = int(match.group(1))
        elif process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not start: {stderr.read_text()}")
        else:
            time.sleep(0.05)
    server = Server(process, f"http://127.0.0.1:{port}", stdout, stderr)
    while wait_ready:
        # Every worker must have finished init(): /readiness is answered by whichever worker
        # the connection lands on, so each worker's "ready" log line is counted as well.
        try:
            ready = httpx.get(server.url("/readiness"), timeout=5).status_code == 200
            if ready and stderr.read_text().count("finished in worker") >= workers:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"server did not get ready: {stderr.read_text()}")
        time.sleep(0.05)
    return server


@contextmanager
def serving(tmp_path: Path, script: str, **kwargs: object) -> Iterator[Server]:
    """`launch`, and stop the server afterwards."""
    server = launch(tmp_path, script, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
