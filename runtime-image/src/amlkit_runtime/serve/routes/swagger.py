"""`GET /swagger.json?version=`: the script's swagger document, or 404 naming the versions."""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson

from amlkit_runtime.serve.answers import JSON, answer, error
from amlkit_runtime.serve.asgi import Headers, Scope, Send
from amlkit_runtime.serve.swagger import Swagger, SwaggerError


async def swagger_route(scope: Scope, send: Send, headers: Headers, swagger: Swagger) -> int:
    """Answer with the document of the `version` query argument (default 2, as azmlinfsrv)."""
    version = parse_qs(scope["query_string"].decode("latin-1")).get("version", [None])[0]
    try:
        document = swagger.get(version)
    except SwaggerError as exc:
        return await error(send, 404, str(exc), headers)
    return await answer(send, 200, orjson.dumps(document), headers, JSON)
