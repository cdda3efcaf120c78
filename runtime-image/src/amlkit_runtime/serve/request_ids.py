"""The request id headers, echoed as azmlinfsrv echoes them, and a 431 for one too long.

`x-request-id` is echoed or generated (a version 4 UUID); `x-ms-client-request-id` and the
legacy `x-ms-request-id` are echoed, each standing in for the other as azmlinfsrv does;
`TraceId` is echoed. An id over 100 characters is refused with 431, with azmlinfsrv's text.
"""

from __future__ import annotations

import os

from amlkit_runtime.serve.asgi import Headers

HEADER_LIMIT = 100  # azmlinfsrv's limit on request id headers, answered with 431


def request_ids(raw: Headers) -> tuple[Headers, str | None]:
    """Headers to echo, and the 431 message if an id is too long."""
    request_id = client_id = legacy_id = trace_id = None
    for key, value in raw:
        if key == b"x-request-id":
            request_id = value
        elif key == b"x-ms-client-request-id":
            client_id = value
        elif key == b"x-ms-request-id":
            legacy_id = value
        elif key == b"traceid":
            trace_id = value
    if request_id is None:
        request_id = new_request_id()
    elif len(request_id) > HEADER_LIMIT:
        return [], f"x-request-id must not exceed {HEADER_LIMIT} characters"
    out = [(b"x-request-id", request_id)]
    if legacy_id and not client_id:
        client_id = legacy_id
    elif not legacy_id:
        legacy_id = client_id or request_id
    if len(legacy_id) > HEADER_LIMIT or (client_id is not None and len(client_id) > HEADER_LIMIT):
        return (
            out,
            f"x-ms-request-id and x-ms-client-request-id must not exceed {HEADER_LIMIT} characters",
        )
    out.append((b"x-ms-request-id", legacy_id))
    if client_id:
        out.append((b"x-ms-client-request-id", client_id))
    if trace_id is not None:
        out.append((b"TraceId", trace_id))
    return out, None


class _RequestIds:
    """Random (version 4) UUIDs, as azmlinfsrv's `uuid.uuid4()`, with one read of the OS's
    randomness for 256 of them instead of one a request. Filled lazily: in the worker,
    after the fork, so that workers never share ids."""

    def __init__(self) -> None:
        self._pool: list[bytes] = []

    def __call__(self) -> bytes:
        if not self._pool:
            raw = bytearray(os.urandom(16 * 256))
            raw[6::16] = bytes((byte & 0x0F) | 0x40 for byte in raw[6::16])  # version 4
            raw[8::16] = bytes((byte & 0x3F) | 0x80 for byte in raw[8::16])  # RFC 4122 variant
            text = raw.hex().encode()
            self._pool = [
                b"-".join(
                    (
                        text[i : i + 8],
                        text[i + 8 : i + 12],
                        text[i + 12 : i + 16],
                        text[i + 16 : i + 20],
                        text[i + 20 : i + 32],
                    )
                )
                for i in range(0, len(text), 32)
            ]
        return self._pool.pop()


new_request_id = _RequestIds()
