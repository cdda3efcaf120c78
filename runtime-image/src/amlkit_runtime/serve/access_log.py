"""One JSON line per request on stdout: what Azure's console log and Log Analytics pick up.

Written straight to stdout (not through `logging`: a log record costs several times
more than the line itself at thousands of requests a second). Fields: time (UTC,
ISO 8601), deployment, method, path, status, latency_ms, request_id, and run_ms
when run() was called.
"""

from __future__ import annotations

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

    def write(
        self,
        method: str,
        path: str,
        status: int,
        latency_ms: float,
        request_id: str,
        run_ms: float | None = None,
    ) -> None:
        """One line for one answered request."""
        if not self.enabled:
            return
        record: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
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
        self._stream.write(orjson.dumps(record).decode() + "\n")
        self._stream.flush()
