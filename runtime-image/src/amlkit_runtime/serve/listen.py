"""Listening sockets for amlkit-serve's workers, and a port in use refused in one line.

Each worker gets its own listening socket on the port (SO_REUSEPORT), so that the kernel
spreads new connections over the workers; a single shared socket lets whichever worker
wakes first accept a whole burst of connections, which keep-alive then pins to it.

SO_REUSEPORT also lets any other process of the same user bind the same port and take a
share of its connections. So once every socket listens, the kernel's table of listening
sockets (/proc/net/tcp and tcp6) is read: a listener on the port that is not one of ours
means the port was already in use, and the server stops with `PortInUse` instead of
silently sharing it. With one worker no SO_REUSEPORT is set, and the bind itself fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path

BACKLOG = 2048  # gunicorn's, which azmlinfsrv inherits
_LISTEN_STATE = "0A"  # TCP_LISTEN in /proc/net/tcp


class PortInUse(OSError):
    """The port is taken by another process; the message is one line naming it."""


def listen(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` listening sockets on (host, port); port 0 takes a free port for all of them."""
    reuse_port = count > 1
    socks = [_bind(host, port, reuse_port=reuse_port)]
    try:
        bound = int(socks[0].getsockname()[1])
        socks += [_bind(host, bound, reuse_port=True) for _ in range(count - 1)]
        if reuse_port:
            _check_alone(socks, bound, host)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def _bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise _in_use(host, port) from None
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _check_alone(socks: list[socket.socket], port: int, host: str) -> None:
    ours = {os.fstat(sock.fileno()).st_ino for sock in socks}
    if any(inode not in ours for inode in _listeners(port)):
        raise _in_use(host, port)


def _listeners(port: int) -> list[int]:
    """Socket inodes listening on `port`, any address, as the kernel lists them (Linux)."""
    inodes: list[int] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                listening = len(fields) > 9 and fields[3] == _LISTEN_STATE
                if listening and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.append(int(fields[9]))
    return inodes


def _in_use(host: str, port: int) -> PortInUse:
    return PortInUse(
        f"port {port} on {host} is already in use by another process: stop it or give another --port"
    )
