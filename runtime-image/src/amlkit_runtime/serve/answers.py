"""Sending an answer: one status, the headers every answer carries, a body in one piece.

Every answer carries `x-ms-run-function-failed` (True only when run() failed or answered
5xx), as azmlinfsrv's do, and the error answers are its JSON `{"message": ...}` bodies
with its texts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from amlkit_runtime.serve.asgi import Headers, Send

JSON = b"application/json"
HTML = b"text/html; charset=utf-8"
RUN_FAILED_MESSAGE = "An unexpected error occurred in scoring script. Check the logs for more info."
NOT_FOUND_MESSAGE = (
    "The requested URL was not found on the server. If you entered the URL manually please check "
    "your spelling and try again."
)
NOT_READY_MESSAGE = "init() has not finished"
METHOD_NOT_ALLOWED_MESSAGE = "The method is not allowed for the requested URL."  # werkzeug's


async def answer(
    send: Send,
    status: int,
    body: bytes,
    headers: Headers,
    content_type: bytes | None,
    *,
    failed: bool | None = False,
) -> int:
    """Send a whole answer; its status, for the access log and metrics.

    `failed` None leaves out `x-ms-run-function-failed` (azmlinfsrv's `GET /` has none).
    A 204 or 304 has no Content-Length, as werkzeug sends them.
    """
    out = [] if status in (204, 304) else [(b"content-length", str(len(body)).encode())]
    if failed is not None:
        out.append((b"x-ms-run-function-failed", b"True" if failed else b"False"))
    if content_type is not None:
        out.append((b"content-type", content_type))
    out.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})
    return status


async def stream(
    send: Send,
    status: int,
    chunks: AsyncIterator[bytes],
    headers: Headers,
    *,
    failed: bool = False,
) -> int:
    """Send an answer whose body comes in chunks (chunked transfer coding, as gunicorn)."""
    out = [(b"x-ms-run-function-failed", b"True" if failed else b"False"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": out})
    async for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
    return status


def message(text: str) -> bytes:
    """azmlinfsrv's error body: `{"message": text}`."""
    return orjson.dumps({"message": text})


async def error(
    send: Send, status: int, text: str, headers: Headers, *, failed: bool = False
) -> int:
    """An error answer with azmlinfsrv's JSON body."""
    return await answer(send, status, message(text), headers, JSON, failed=failed)
