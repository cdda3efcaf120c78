"""`AMLRequest` and `@rawhttp`, as `azureml.contrib.services.aml_request` offers them.

Azure's `rawhttp` only flips a module-level flag (`_rawHttpRequested`) that the
server reads after importing the script; this does the same, and also marks the
function, so that two scripts in one process do not leak the flag to each other.

`AMLRequest` here is not a Flask request: amlkit-serve is not WSGI. It offers the
parts of `flask.Request` that scoring scripts use (method, headers, args, data,
get_data(), get_json(), json, path, full_path, url, content_type, mimetype,
is_json, query_string, remote_addr). The body is read before `run()` is called.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

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


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only request headers (repeated fields joined by ', ')."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in self._items:
                value = f"{self._items[key][1]}, {value}"
            self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items


class MultiDict(Mapping[str, str]):
    """Query arguments: `args["k"]` is the first value, `args.getlist("k")` all of them."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._lists: dict[str, list[str]] = {}
        for key, value in pairs:
            self._lists.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> str:
        return self._lists[key][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    def getlist(self, key: str) -> list[str]:
        """Every value of `key`, in order; empty if absent."""
        return list(self._lists.get(key, []))


class AMLRequest:
    """The request handed to a `@rawhttp` run(): a read-only, Flask-like view."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        query_string: bytes,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        scheme: str = "http",
        host: str = "localhost",
        remote_addr: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = Headers(headers)
        self.data = body
        self.scheme = scheme
        self.host = self.headers.get("host", host)
        self.remote_addr = remote_addr
        self.args = MultiDict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))

    @property
    def full_path(self) -> str:
        """Path and query string, as Flask writes it (`/score?` when there is no query)."""
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def url(self) -> str:
        """The full URL of the request."""
        query = f"?{self.query_string.decode('latin-1')}" if self.query_string else ""
        return f"{self.scheme}://{self.host}{self.path}{query}"

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, if any."""
        return self.headers.get("content-type")

    @property
    def mimetype(self) -> str:
        """The Content-Type without parameters, lower case."""
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        """True for application/json and application/*+json, as Flask decides."""
        mimetype = self.mimetype
        return mimetype == "application/json" or (
            mimetype.startswith("application/") and mimetype.endswith("+json")
        )

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> Any:
        """The body, as bytes (or text with `as_text=True`)."""
        return self.data.decode("utf-8", "replace") if as_text else self.data

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The body parsed as JSON; None when it is not JSON (or not declared JSON)."""
        if not (force or self.is_json):
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        """Same as `get_json()`."""
        return self.get_json()

    @property
    def files(self) -> Mapping[str, Any]:
        """Multipart uploads are not parsed by amlkit-serve; always empty."""
        return {}

    @property
    def form(self) -> Mapping[str, str]:
        """Form fields of an application/x-www-form-urlencoded body."""
        if self.mimetype != "application/x-www-form-urlencoded":
            return MultiDict(())
        return MultiDict(parse_qsl(self.data.decode("utf-8", "replace"), keep_blank_values=True))

    def __repr__(self) -> str:
        return f"<AMLRequest {self.method} {self.full_path!r}>"
