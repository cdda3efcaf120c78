"""uvicorn's httptools protocol, with three changes: one write a response, a read deadline
and limits on a request's head.

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

Head limits (hostile clients). A request line and headers over `MAX_HEAD_BYTES`, or
more than `MAX_HEADER_FIELDS` header fields, get `431 Request Header Fields Too Large`
and the connection is closed. The limit is on one request's head, never on the bytes
of several requests pipelined on a connection:
- a complete head is measured exactly, from its request line and fields as received
  (`Name: value` lines; optional whitespace around a value is not counted);
- a head still incomplete after a read is bounded, so that it cannot be buffered for
  ever: data is parsed in pieces of at most `HEAD_PIECE` bytes (a body of known length
  at once), so a head that began within a piece is known to the piece, and it is
  refused once that bound passes `MAX_HEAD_BYTES + HEAD_PIECE` (it is then surely
  over the limit).

Everything else is uvicorn's (the subclass uses `HttpToolsProtocol`'s attributes, hence
the upper bound on uvicorn in pyproject.toml).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from amlkit_runtime.serve.settings import DEFAULT_READ_TIMEOUT_S

logger = logging.getLogger("amlkit.serve")

READ_TIMED_OUT = "amlkit.read_timed_out"  # scope key set when the read deadline closed the request
# Limits on a request's head. azmlinfsrv (gunicorn) allows 4,094 bytes for the request
# line, 8,190 for a header and 100 header fields; uvicorn with httptools has no limit,
# so one request could make a worker buffer gigabytes of headers.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADER_FIELDS = 100
HEAD_PIECE = 8 * 1024  # reads larger than this are parsed piece by piece (see above)
_LINE_ENDS = len(b" HTTP/1.1\r\n") + 1  # around the method and target of a request line


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


def _refusal(status: bytes, message: str) -> bytes:
    """A whole HTTP answer that closes the connection, with azmlinfsrv's JSON message body."""
    body = orjson.dumps({"message": message})
    return (
        b"HTTP/1.1 %s\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, len(body), body)
    )


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's `HttpToolsProtocol`: one write a response, a read deadline, head limits.

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
        self._in_head = False  # ... and its head has not fully arrived
        self._began = False  # a request began during the piece being parsed
        self._refused = False  # the request being read was refused: ignore the rest of it
        self._head_bytes = 0  # bound on the incomplete head's bytes (see the docstring)
        self._header_fields = 0
        self._body_left = -1  # body bytes still to come, when its length is known
        self._read_timer: asyncio.TimerHandle | None = None
        # A new connection is idle like a kept-alive one: the same timeout closes it.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if len(data) <= HEAD_PIECE:
            self._parse(data)
        else:
            view = memoryview(data)
            start, end = 0, len(data)
            while start < end and not self.transport.is_closing():
                size = self._body_left if self._body_left > 0 and not self._in_head else HEAD_PIECE
                self._parse(view[start : start + size])  # type: ignore[arg-type]  # any buffer
                start += size
        # Armed once all of `data` is parsed (not after each piece): a request that
        # arrives in one read, head and body split into pieces, arms no timer.
        if (
            self._reading
            and self._read_timer is None
            and not self._refused
            and not self.transport.is_closing()
        ):
            self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _parse(self, piece: bytes) -> None:
        self._began = False
        super().data_received(piece)
        if not self._reading or self._refused or self.transport.is_closing():
            return
        if self._in_head:  # the head is still incomplete after all of `piece`
            self._head_bytes = len(piece) if self._began else self._head_bytes + len(piece)
            if self._head_bytes > MAX_HEAD_BYTES + HEAD_PIECE:
                self._refuse_head(f"the request line and headers exceed {MAX_HEAD_BYTES} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading = self._in_head = self._began = True
        self._refused = self.transport.is_closing()
        self._head_bytes = 0
        self._header_fields = 0
        self._body_left = -1

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._header_fields += 1
        if self._header_fields > MAX_HEADER_FIELDS:
            self._refuse_head(f"more than {MAX_HEADER_FIELDS} header fields")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._refused:
            return
        size = len(self.parser.get_method()) + len(self.url) + _LINE_ENDS + 2
        length = -1
        for name, value in self.headers:
            size += len(name) + len(value) + 4  # "Name: value\r\n"
            if name == b"content-length" and value.isdigit():
                length = int(value)
        if size > MAX_HEAD_BYTES:
            self._refuse_head(f"the request line and headers exceed {MAX_HEAD_BYTES} bytes")
            return
        self._body_left = length
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._body_left > 0:
            self._body_left -= len(body)
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()
        self._reading = self._in_head = False
        self._body_left = -1
        self._cancel_read_timer()

    def on_response_complete(self) -> None:
        self._gathering.flush()
        super().on_response_complete()
        if self._read_timer is not None:
            # Reading resumes now that the earlier request is answered: a new deadline.
            self._read_timer.cancel()
            self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _current_cycle(self) -> Any:
        """The cycle of the request being read, once its head is complete; else None."""
        return self.cycle if self.cycle is not None and self.cycle.scope is self.scope else None

    def _earlier_in_progress(self) -> bool:
        """Whether an earlier request on this connection is still being answered."""
        earlier = self.cycle if self._current_cycle() is None else None
        return bool(self.pipeline) or (earlier is not None and not earlier.response_complete)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _refuse_head(self, reason: str) -> None:
        """431 for a request whose head is too large, and close: its rest is never parsed."""
        self._refused = True
        self._cancel_read_timer()
        logger.warning("431 to %s: %s", self.client[0] if self.client else "a client", reason)
        if not self._earlier_in_progress():
            self.transport.write(
                _refusal(
                    b"431 Request Header Fields Too Large",
                    f"Request header fields too large: {reason}",
                )
            )
        self.transport.close()

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self._reading or self._refused or self.transport.is_closing():
            return
        if self._earlier_in_progress():
            # Reading is paused while the earlier request is answered: the client is not
            # late. Start the deadline again.
            self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)
            return
        current = self._current_cycle()
        if current is None or not current.response_started:
            self.scope[READ_TIMED_OUT] = True  # type: ignore[literal-required]
            message = f"The request did not arrive within {self.read_timeout_s:g} s"
            self.transport.write(_refusal(b"408 Request Timeout", message))
        self.transport.close()
