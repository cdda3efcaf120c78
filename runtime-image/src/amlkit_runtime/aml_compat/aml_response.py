"""`AMLResponse`, as `azureml.contrib.services.aml_response` offers it.

Same constructor as Azure's: `AMLResponse(message, status_code, response_headers={},
json_str=False, run_function_failed=False)`. With `json_str=True` the message is
sent as JSON; otherwise as is (str or bytes). A header value holding commas is sent
as repeated headers, as Azure does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class AMLResponse:
    """A response that `run()` returns to choose the status, body and headers itself."""

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        self.status_code = int(status_code)
        self.headers: list[tuple[str, str]] = []
        extra = dict(response_headers or {})
        if message is None:
            body: Any = json.dumps({})
            content_type = "application/json"
        elif json_str:
            body = json.dumps(message)
            content_type = "application/json"
        else:
            body = message
            content_type = "text/html; charset=utf-8"
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes | bytearray):
            body = str(body).encode("utf-8")
        self.data: bytes = bytes(body)
        if not any(name.lower() == "content-type" for name in extra):
            self.headers.append(("Content-Type", content_type))
        self.headers.append(("x-ms-run-function-failed", str(bool(run_function_failed))))
        for name, value in extra.items():
            for part in str(value).split(","):
                self.headers.append((name, part.strip()))

    def get_data(self, as_text: bool = False) -> Any:
        """The body, as bytes (or text)."""
        return self.data.decode("utf-8", "replace") if as_text else self.data

    @property
    def mimetype(self) -> str:
        """The Content-Type without parameters."""
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value.split(";", 1)[0].strip()
        return ""
