"""Slow, silent and oversized clients, over raw sockets: 408 at the read deadline, idle
connections closed, 431 for a head too large, and nobody else kept waiting meanwhile."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_server import SLOW_SCRIPT, Server, serving

pytestmark = pytest.mark.slow

READ_TIMEOUT_S = 0.6
ENV = {"AMLKIT_READ_TIMEOUT_S": str(READ_TIMEOUT_S), "AMLKIT_KEEP_ALIVE_S": "1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # One worker with one concurrency slot: a slow client holding either would show.
    env = {**ENV, "AMLKIT_MAX_CONCURRENT_REQUESTS": "1"}
    with serving(tmp_path_factory.mktemp("slow"), SLOW_SCRIPT, env=env, workers=1) as running:
        yield running


def _connect(server: Server) -> socket.socket:
    host, port = server.base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _request(body: bytes, *, length: int | None = None, request_id: str = "") -> bytes:
    extra = f"x-request-id: {request_id}\r\n" if request_id else ""
    return (
        f"POST /score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    ).encode() + body


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_body_sent_too_slowly_gets_408_and_others_are_served_meanwhile(server: Server) -> None:
    body = json.dumps({"data": 1}).encode()
    with _connect(server) as slow:
        started = time.monotonic()
        slow.sendall(_request(body[:3], length=len(body), request_id="slow-body"))
        # While it dawdles, the only worker and the only slot still serve someone else.
        other = httpx.post(server.url("/score"), content=json.dumps({"data": 2}), timeout=5)
        assert (other.status_code, other.json()) == (200, {"pid_ok": True, "rows": 2})
        answer = _read_all(slow)  # the server answers, then closes
        elapsed = time.monotonic() - started
    status, message = _status_and_body(answer)
    assert status == 408 and b"connection: close" in answer.lower()
    assert message == {"message": f"The request did not arrive within {READ_TIMEOUT_S:g} s"}
    assert READ_TIMEOUT_S * 0.95 <= elapsed < READ_TIMEOUT_S + 5  # a timer may fire a tick early
    # The app saw the request: it is logged (and counted) as a 408, not as a hang-up.
    deadline = time.monotonic() + 5
    while not any('"slow-body"' in line for line in server.access_lines()):
        assert time.monotonic() < deadline, "no access line for the timed-out request"
        time.sleep(0.05)
    line = next(json.loads(x) for x in server.access_lines() if '"slow-body"' in x)
    assert (line["path"], line["status"]) == ("/score", 408)
    assert (
        'amlkit_requests_total{deployment="default",route="/score",status="408"} 1.0'
        in httpx.get(server.url("/metrics")).text
    )


def test_headers_sent_too_slowly_get_408(server: Server) -> None:
    with _connect(server) as slow:
        slow.sendall(b"POST /score HTTP/1.1\r\nHost: test\r\nContent-Le")
        status, _ = _status_and_body(_read_all(slow))
    assert status == 408
    assert httpx.get(server.url("/"), timeout=5).status_code == 200


def test_a_request_sent_in_pieces_within_the_deadline_is_scored(server: Server) -> None:
    raw = _request(json.dumps({"data": 3}).encode())
    with _connect(server) as sock:
        for start in range(0, len(raw), 40):
            sock.sendall(raw[start : start + 40])
            time.sleep(READ_TIMEOUT_S / 10)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b'{"pid_ok":true,"rows":3}')


def test_a_silent_connection_is_closed_after_the_keep_alive_timeout(server: Server) -> None:
    started = time.monotonic()  # before connecting: the server's timer starts after this
    with _connect(server) as silent:
        assert _read_all(silent) == b""  # closed without an answer: there was no request
        # AMLKIT_KEEP_ALIVE_S is 1; the event loop may fire a timer a clock tick early.
        assert 0.95 <= time.monotonic() - started < 6


def test_the_deadline_waits_while_an_earlier_pipelined_request_is_answered(tmp_path: Path) -> None:
    # The second request is late only because the server stops reading while it answers
    # the first (1.5 s in run(), more than twice the deadline): both are answered.
    first = _request(json.dumps({"data": 4, "sleep": 1.5}).encode())
    second_body = json.dumps({"data": 5}).encode()
    second = _request(second_body)
    split = len(second) - len(second_body) + 2
    with serving(tmp_path, SLOW_SCRIPT, env=ENV, workers=1) as running, _connect(running) as sock:
        sock.sendall(first + second[:split])
        time.sleep(READ_TIMEOUT_S * 1.5)
        sock.sendall(second[split:])
        answers = b""
        while answers.count(b"HTTP/1.1 ") < 2 or not answers.endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {answers!r}"
            answers += chunk
    assert re.findall(rb"HTTP/1\.1 (\d{3})", answers) == [b"200", b"200"]
    assert b'{"pid_ok":true,"rows":4}' in answers and answers.endswith(b'{"pid_ok":true,"rows":5}')


def test_a_head_over_the_limit_is_431_before_it_is_buffered(server: Server) -> None:
    chunk, chunks, sent = b"a" * 65536, 128, 0
    answer: bytes | None = None
    with _connect(server) as hostile:
        hostile.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nX-Big: ")
        try:
            for _ in range(chunks):
                hostile.sendall(chunk)
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        with contextlib.suppress(ConnectionResetError):  # bytes left unread: the kernel may reset
            answer = _read_all(hostile)
    assert sent < chunks, "the server kept reading an 8 MiB header"
    if answer:  # unless the reset overtook it, the answer says why
        status, message = _status_and_body(answer)
        assert status == 431
        assert message == {
            "message": "Request header fields too large: the request line and headers exceed 65536 bytes"
        }
    assert httpx.get(server.url("/"), timeout=5).status_code == 200


@pytest.mark.parametrize(("fields", "status"), [(100, 200), (101, 431)])
def test_at_most_100_header_fields_as_azmlinfsrv(server: Server, fields: int, status: int) -> None:
    # Host and Content-Type count: fill up to `fields` with extra ones.
    extra = "".join(f"X-F{i}: v\r\n" for i in range(fields - 3))
    body = json.dumps({"data": 6}).encode()
    head = f"POST /score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    with _connect(server) as sock:
        sock.sendall(head.encode() + body)
        answer = sock.recv(65536)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:80]
    if status == 431:
        assert answer.endswith(
            b'{"message":"Request header fields too large: more than 100 header fields"}'
        )
