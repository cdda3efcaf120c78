"""`AMLResponse`, as `azureml.contrib.services.aml_response` offers it.

Azure's is a `flask.Response`; this is werkzeug's `Response` (Flask's base) with Flask's
default mimetype, built the way Azure builds it: `AMLResponse(message, status_code,
response_headers={}, json_str=False, run_function_failed=False)`. With `json_str=True`
the message is sent as JSON; `None` sends `{}`; otherwise the message is the body as
is: str, bytes, or an iterable (a generator is streamed, item by item). A header value
holding commas is sent as repeated headers, as Azure does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response


class AMLResponse(Response):
    """A response that `run()` returns to choose the status, body and headers itself."""

    default_mimetype = "text/html"  # Flask's, where werkzeug's is text/plain

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        headers = dict(response_headers or {})
        if message is None:
            super().__init__(json.dumps({}), status=status_code, mimetype="application/json")
        elif json_str:
            super().__init__(json.dumps(message), status=status_code, mimetype="application/json")
        else:
            super().__init__(message, status=status_code)
            if "Content-Type" in headers:
                self.headers.remove("Content-Type")  # added again below
        self.headers["x-ms-run-function-failed"] = run_function_failed
        for name, value in headers.items():
            for part in value.split(","):
                self.headers.add_header(name, part.strip())
