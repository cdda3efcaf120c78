"""One JSON line per request on stdout: what Azure's console log and Log Analytics pick up.

Written straight to stdout (not through `logging`: a log record costs several times
more than the line itself at thousands of requests a second). Fields: time (UTC,
ISO 8601), deployment, method, path, status, latency_ms, request_id, and run_ms
when run() was called.

Lines are gathered and written with one write and flush on the event loop's next
turn, not one write a request: every request answered in the same turn shares the
system call (and the scoring thread is not handed the GIL once a request). A line is
still on stdout before the worker reads its next request.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

import orjson


class AccessLog:
    """Writes access lines when enabled; otherwise a no-op."""

    def __init__(self, deployment: str, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self._deployment = deployment
        self._stream = stream or sys.stdout
        self._lines: list[bytes] = []
        self._second = -1
        self._stamp = ""

    def write(
        self,
        method: str,
        path: str,
        status: int,
        latency_ms: float,
        request_id: str,
        run_ms: float | None = None,
    ) -> None:
        """One line for one answered request (written on the loop's next turn)."""
        if not self.enabled:
            return
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        record: dict[str, object] = {
            "time": self._stamp,
            "logger": "amlkit.access",
            "deployment": self._deployment,
            "method": method,
            "path": path,
            "status": status,
            "latency_ms": round(latency_ms, 3),
            "request_id": request_id,
        }
        if run_ms is not None:
            record["run_ms"] = round(run_ms, 3)
        self._lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        if len(self._lines) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # not on a loop (a direct call): write now
                self.flush()

    def flush(self) -> None:
        """Write the gathered lines."""
        if not self._lines:
            return
        text = b"".join(self._lines).decode()
        self._lines.clear()
        self._stream.write(text)
        self._stream.flush()
