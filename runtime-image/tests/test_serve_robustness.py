"""HTTP robustness over raw sockets and real processes: the head limit is one request's
head (pipelined requests are all answered), 431 just above 64 KiB, a port in use is one
line and exit 2 (never shared), and workers die with their supervisor."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from amlkit_runtime.serve.protocol import MAX_HEAD_BYTES
from serve_server import SLOW_SCRIPT, Server, launch, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("robust"), SLOW_SCRIPT, workers=1) as running:
        yield running


def _address(server: Server) -> tuple[str, int]:
    host, port = server.base.removeprefix("http://").split(":")
    return host, int(port)


def _get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode()


def _answers(sock: socket.socket, count: int) -> list[int]:
    """Statuses of the next `count` answers (each with a Content-Length), or fewer if closed."""
    buffer, statuses = b"", list[int]()
    while len(statuses) < count:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end != -1:
            head = buffer[:head_end].decode("latin-1")
            length = next(
                int(line.split(":", 1)[1])
                for line in head.split("\r\n")
                if line.lower().startswith("content-length:")
            )
            if len(buffer) >= head_end + 4 + length:
                statuses.append(int(head.split()[1]))
                buffer = buffer[head_end + 4 + length :]
                continue
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        buffer += chunk
    return statuses


def test_a_burst_of_pipelined_requests_is_answered_in_full(server: Server) -> None:
    one = _get("/liveness", "x-request-id: " + "r" * 90 + "\r\n")
    count = 195 * 1024 // len(one) + 1  # about 195 KiB of small, complete requests
    assert count * len(one) > 3 * MAX_HEAD_BYTES
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(one * count)
        statuses = _answers(sock, count)
    assert statuses == [200] * count


@pytest.mark.parametrize(
    ("size", "status"),
    [(MAX_HEAD_BYTES - 200, 200), (MAX_HEAD_BYTES + 1024, 431), (100 * 1024, 431)],
)
def test_one_header_is_refused_exactly_above_the_limit(
    server: Server, size: int, status: int
) -> None:
    request = _get("/liveness", f"X-Big: {'a' * size}\r\n")
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(request)
        assert _answers(sock, 1) == [status]


def test_the_limit_counts_the_head_as_received(server: Server) -> None:
    """A head of exactly the limit is served; one byte more is not."""
    base = len(_get("/liveness", "X-Big: \r\n"))
    for total, status in ((MAX_HEAD_BYTES, 200), (MAX_HEAD_BYTES + 1, 431)):
        request = _get("/liveness", f"X-Big: {'a' * (total - base)}\r\n")
        assert len(request) == total
        with socket.create_connection(_address(server), timeout=30) as sock:
            sock.sendall(request)
            assert _answers(sock, 1) == [status]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path, workers: int) -> None:
    first = launch(tmp_path, SLOW_SCRIPT, workers=2)  # SO_REUSEPORT sockets
    try:
        _, port = _address(first)
        env = {**os.environ, "AMLKIT_HOST": "127.0.0.1", "AML_APP_ROOT": str(tmp_path)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        (tmp_path / "score.py").write_text(SLOW_SCRIPT)
        second = subprocess.run(
            [
                *(sys.executable, "-m", "amlkit_runtime.serve.cli", "--entry_script", "score.py"),
                *("--port", str(port), "--worker_count", str(workers)),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        first.stop()
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert lines == [
        f"amlkit-serve: port {port} on 127.0.0.1 is already in use by another process: "
        "stop it or give another --port"
    ]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_workers_exit_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    server = launch(tmp_path, SLOW_SCRIPT, workers=2)
    workers = _children(server.process.pid)
    assert len(workers) == 2
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 40  # they finish in-flight requests first (none here)
    while any(_alive(pid) for pid in workers):
        if time.monotonic() > deadline:
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            pytest.fail("workers kept serving after their supervisor was killed")
        time.sleep(0.1)
