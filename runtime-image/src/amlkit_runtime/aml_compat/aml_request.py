"""`AMLRequest` and `@rawhttp`, as `azureml.contrib.services.aml_request` offers them.

Azure's `AMLRequest` is a `flask.Request`, and a `@rawhttp` run() receives Flask's
request. Here it is werkzeug's `Request` (the class Flask's derives from), built from the
ASGI request with the body already read, so a script sees the same object it sees under
azmlinfsrv: `headers` (iterating yields `(name, value)` pairs), `args`, `form`, `files`,
`get_data()`, `get_json()` (400-style errors included), `url`, `full_path` and the rest.

Azure's `rawhttp` only flips a module-level flag (`_rawHttpRequested`) that the server
reads after importing the script; this does the same, and also marks the function, so
that two scripts in one process do not leak the flag to each other.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

from werkzeug.wrappers import Request

_rawHttpRequested = False  # same name as Azure's flag; read by the server
RAWHTTP_ATTRIBUTE = "_amlkit_rawhttp"

F = TypeVar("F", bound=Callable[..., Any])


def rawhttp(func: F) -> F:
    """Mark `run()` to receive the request object itself rather than the body."""
    global _rawHttpRequested
    _rawHttpRequested = True
    with contextlib.suppress(AttributeError, TypeError):  # a callable that takes no attributes
        setattr(func, RAWHTTP_ATTRIBUTE, True)
    return func


class AMLRequest(Request):
    """The request handed to a `@rawhttp` run(): werkzeug's request, as Flask's is."""

    @classmethod
    def from_asgi(cls, scope: MutableMapping[str, Any], body: bytes) -> AMLRequest:
        """The request of an ASGI `scope` whose whole body is `body`."""
        return cls(wsgi_environ(scope, body))


def wsgi_environ(scope: MutableMapping[str, Any], body: bytes) -> dict[str, Any]:
    """The WSGI environ gunicorn would build for this request (PEP 3333).

    Header fields become `HTTP_*` keys (repeated fields joined by ","), except
    Content-Type and Content-Length; the path is latin-1 text of its UTF-8 bytes.
    """
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = "HTTP_" + name
        value = raw_value.decode("latin-1")
        environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ
