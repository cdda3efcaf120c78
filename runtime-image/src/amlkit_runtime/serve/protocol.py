"""uvicorn's httptools protocol, with each response leaving in one write.

uvicorn writes a response's status line and headers (`http.response.start`) and its
body (`http.response.body`) with two `transport.write` calls, and uvloop sends each at
once: two system calls and two TCP segments a response, a visible share of a 1-row
request's cost. Here the connection's transport is wrapped so that writes are
gathered and sent together when the response is complete (`on_response_complete`),
or, for anything else that writes (a streamed body, an error answer), on the loop's
next turn or before the connection is closed. Everything else is uvicorn's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _GatheringTransport:
    """Delegates to the real transport; `write` is held until `flush`."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        pending = self._pending
        pending.append(data)
        if len(pending) == 1:
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        pending = self._pending
        if pending:
            data = pending[0] if len(pending) == 1 else b"".join(pending)
            pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's `HttpToolsProtocol`, one write a response (pass as `uvicorn.Config(http=...)`)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        gathering = _GatheringTransport(transport, self.loop)  # type: ignore[arg-type]
        super().connection_made(gathering)  # type: ignore[arg-type]
        self._gathering = gathering

    def on_response_complete(self) -> None:
        self._gathering.flush()
        super().on_response_complete()
