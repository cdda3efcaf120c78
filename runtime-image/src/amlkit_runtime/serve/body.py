"""Reading a request body within the size limit, telling a gone client from a late one."""

from __future__ import annotations

from amlkit_runtime.serve.asgi import Receive, Scope, header
from amlkit_runtime.serve.protocol import READ_TIMED_OUT


class BodyTooLarge(Exception):
    """The body is (or is declared) larger than the limit: a 413."""


class ClientGone(Exception):
    """The client closed the connection before its body arrived (logged as 499)."""


class ReadTimedOut(Exception):
    """The protocol's read deadline passed before the body arrived; it answered 408."""


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body; BodyTooLarge as soon as it is known to exceed `limit` bytes."""
    declared = header(scope, b"content-length")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ReadTimedOut if scope.get(READ_TIMED_OUT) else ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > limit:
            raise BodyTooLarge
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ReadTimedOut if scope.get(READ_TIMED_OUT) else ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
