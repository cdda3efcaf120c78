"""uvicorn's httptools protocol, with two changes: one write a response, and a read deadline.

One write a response. uvicorn writes a response's status line and headers
(`http.response.start`) and its body (`http.response.body`) with two `transport.write`
calls, and uvloop sends each at once: two system calls and two TCP segments a response,
a visible share of a 1-row request's cost. Here the connection's transport is wrapped
so that writes are gathered and sent together when the response is complete
(`on_response_complete`), or, for anything else that writes (a streamed body, an
error answer), on the loop's next turn or before the connection is closed.

A read deadline (slow clients). uvicorn waits for a request's bytes for as long as the
client keeps the connection open, and never closes a new connection that sends
nothing, so a client that trickles its headers or body (or opens connections and stays
silent) holds them for ever. Here:
- a request (request line, headers and body) must have arrived `read_timeout_s` after
  its first bytes; otherwise the client gets `408 Request Timeout` and the connection is
  closed. An app already waiting for the body sees the disconnect and records a 408
  (`READ_TIMED_OUT` in the scope);
- a new connection that sends nothing is closed after the keep-alive timeout, as an idle
  kept-alive connection already is.
The deadline only runs while a request is incomplete after the data received so far:
a request that arrives in one read, the usual case, arms no timer. It is not the
client's fault when the server stops reading (an earlier pipelined request is still
being answered): the deadline then starts again once that answer is sent.

Everything else is uvicorn's (the subclass uses `HttpToolsProtocol`'s attributes, hence
the upper bound on uvicorn in pyproject.toml).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_READ_TIMEOUT_S = 60.0
READ_TIMED_OUT = "amlkit.read_timed_out"  # scope key set when the read deadline closed the request


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


def _timeout_answer(read_timeout_s: float) -> bytes:
    body = orjson.dumps({"message": f"The request did not arrive within {read_timeout_s:g} s"})
    return (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
    )


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's `HttpToolsProtocol`, one write a response and a read deadline.

    Pass `HttpProtocol.with_read_timeout(seconds)` as `uvicorn.Config(http=...)`.
    """

    read_timeout_s = DEFAULT_READ_TIMEOUT_S

    @classmethod
    def with_read_timeout(cls, seconds: float) -> type[HttpProtocol]:
        """This protocol with another read deadline."""
        return type(cls.__name__, (cls,), {"read_timeout_s": seconds})

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        gathering = _GatheringTransport(transport, self.loop)  # type: ignore[arg-type]
        super().connection_made(gathering)  # type: ignore[arg-type]
        self._gathering = gathering
        self._reading = False  # a request has begun and not fully arrived
        self._read_timer: asyncio.TimerHandle | None = None
        # A new connection is idle like a kept-alive one: the same timeout closes it.
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._reading and self._read_timer is None and not self.transport.is_closing():
            self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading = True

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading = False
        self._cancel_read_timer()

    def on_response_complete(self) -> None:
        self._gathering.flush()
        super().on_response_complete()
        if self._read_timer is not None:
            # Reading resumes now that the earlier request is answered: a new deadline.
            self._read_timer.cancel()
            self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self._reading or self.transport.is_closing():
            return
        # The cycle of the request being read, if its headers are complete.
        current = self.cycle if self.cycle is not None and self.cycle.scope is self.scope else None
        earlier = self.cycle if current is None else None
        if self.pipeline or (earlier is not None and not earlier.response_complete):
            # An earlier request on this connection is still being answered, and reading
            # is paused meanwhile: the client is not late. Start the deadline again.
            self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)
            return
        if current is None or not current.response_started:
            self.scope[READ_TIMED_OUT] = True  # type: ignore[literal-required]
            self.transport.write(_timeout_answer(self.read_timeout_s))
        self.transport.close()
