"""How run() is called: azmlinfsrv's three input modes, and turning its result into bytes.

- undecorated `run(raw_data)`: the body as a str (a GET passes its query as a JSON string);
- `@rawhttp`: an `AMLRequest`;
- inference-schema `@input_schema`: the JSON body's keys as keyword arguments (415 when
  the body is not declared JSON, 400 when it is not a JSON object or misses a key).
A `request_headers` parameter receives the request headers as a dict, keys written as
Flask writes them (`X-Request-Id`).

Deliberate differences. A request that declares a JSON body (Content-Type
application/json or `+json`) that is not JSON, and whose run() raised, is answered 400
naming the parse error, where azmlinfsrv answers 500 for any exception in run(): the
server checks the body itself (`malformed_json`), so a script's own bug on a valid body
is still a 500. Results are encoded with orjson, so numpy arrays and scalars
are accepted (azmlinfsrv's json.dumps answers 500 for them) and NaN becomes `null`
(json.dumps writes `NaN`, which is not JSON). Other types fall back to json.dumps.
"""

from __future__ import annotations

import enum
import inspect
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from inference_schema.schema_util import is_schema_decorated  # type: ignore[import-untyped]
from werkzeug.wrappers import Response

from amlkit_runtime.aml_compat import rawhttp_requested
from amlkit_runtime.entry_script import EntryScript, EntryScriptError

_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class Mode(enum.Enum):
    """How the request reaches run()."""

    RAW = "raw body string"
    RAWHTTP = "@rawhttp request object"
    SCHEMA = "@input_schema keyword arguments"


class InputError(Exception):
    """The request cannot be turned into run()'s arguments: a 4xx answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Rendered:
    """run()'s result as an HTTP answer."""

    status: int
    body: bytes
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    failed: bool = False
    stream: Iterator[bytes] | None = None
    """The body's chunks, for a response whose body is a generator: sent as they come."""


@dataclass(frozen=True)
class ScoringScript:
    """A loaded script and the way its run() wants to be called."""

    entry: EntryScript
    mode: Mode
    data_parameter: str
    parameters: tuple[inspect.Parameter, ...]
    wants_headers: bool

    @classmethod
    def analyse(cls, entry: EntryScript) -> ScoringScript:
        """Decide the input mode the way azmlinfsrv does; EntryScriptError when run() cannot be served."""
        run = entry.run
        params = [p for p in inspect.signature(run).parameters.values()]
        wants_headers = any(p.name == "request_headers" for p in params)
        params = [p for p in params if p.name != "request_headers"]
        if not params:
            raise EntryScriptError(
                f"entry script {str(entry.path)!r}: run() needs a parameter for the input data"
                + (" besides request_headers" if wants_headers else "")
            )
        raw = rawhttp_requested(run)
        schema = is_schema_decorated(run)
        if raw and schema:
            raise EntryScriptError(
                f"entry script {str(entry.path)!r}: run() cannot be decorated with both @rawhttp and @input_schema"
            )
        mode = Mode.RAWHTTP if raw else Mode.SCHEMA if schema else Mode.RAW
        return cls(entry, mode, params[0].name, tuple(params), wants_headers)

    # -- turning a request into keyword arguments (on the event loop: cheap) --------------

    def body_arguments(self, body: bytes, content_type: str) -> dict[str, Any]:
        """Keyword arguments for a POST body (not for @rawhttp)."""
        if self.mode is Mode.RAW:
            try:
                return {self.data_parameter: body.decode("utf-8")}
            except UnicodeDecodeError as exc:
                raise InputError(400, f"Input cannot be decoded as UTF-8: {exc}") from None
        if not declares_json(content_type):
            raise InputError(415, "Expects Content-Type to be application/json")
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if body:
                raise InputError(400, f"POST body could not be decoded as JSON: {exc}") from None
            raise InputError(400, "POST body is empty. Expecting a JSON dictionary.") from None
        if not isinstance(parsed, dict):
            raise InputError(400, "POST body should be a JSON dictionary.")
        return self.schema_arguments(parsed)

    def query_arguments(self, query_string: bytes) -> dict[str, Any]:
        """Keyword arguments for GET /score: each query value parsed as JSON where it can be."""
        parsed: dict[str, Any] = {}
        for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            try:
                item: Any = json.loads(value)
            except ValueError:
                item = value
            if key in parsed:
                previous = parsed[key]
                parsed[key] = (
                    [*previous, item]
                    if isinstance(previous, _Repeated)
                    else _Repeated([previous, item])
                )
            else:
                parsed[key] = item
        parsed = {k: list(v) if isinstance(v, _Repeated) else v for k, v in parsed.items()}
        if self.mode is Mode.RAW:
            return {self.data_parameter: json.dumps(parsed)}
        return self.schema_arguments(parsed)

    def schema_arguments(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Map the keys of a JSON object onto run()'s parameters (400 for a missing one)."""
        arguments: dict[str, Any] = {}
        for parameter in self.parameters:
            value = body.get(parameter.name, parameter.default)
            if value is inspect.Parameter.empty:
                raise InputError(
                    400, f"A value is not provided for the {parameter.name!r} parameter."
                )
            arguments[parameter.name] = value
        return arguments

    # -- calling run() (in a scoring thread) ------------------------------------------------

    def call(self, arguments: dict[str, Any], headers: dict[str, str] | None) -> tuple[Any, float]:
        """run(**arguments), and the milliseconds it took. Exceptions propagate."""
        run: Callable[..., Any] = self.entry.run
        if self.wants_headers:
            arguments = {**arguments, "request_headers": headers or {}}
        start = time.perf_counter()
        result = run(**arguments)
        return result, (time.perf_counter() - start) * 1000.0


def declares_json(content_type: str) -> bool:
    """Whether a Content-Type says the body is JSON: application/json or application/*+json."""
    mimetype = content_type.split(";", 1)[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def malformed_json(body: bytes, content_type: str) -> str | None:
    """Why a body declared JSON is not JSON; None when it is JSON or not declared so."""
    if not declares_json(content_type):
        return None
    if not body.strip():
        return "the body is empty"
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return str(exc)
    return None


class _Repeated(list[Any]):
    """Marks a query key given more than once (its values become a list)."""


def encode_json(value: Any) -> bytes:
    """JSON bytes of a run() result (orjson; json.dumps for types orjson does not know)."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(value).encode("utf-8")


_OWN_HEADERS = ("content-length", "x-ms-run-function-failed", "transfer-encoding")


def render(result: Any) -> Rendered:
    """An HTTP answer for run()'s return value; a response object passes through as is.

    A werkzeug (or Flask) response, AMLResponse included, keeps its status, headers and
    body; a streamed one (a generator body) is sent chunk by chunk. 5xx or an
    `x-ms-run-function-failed: True` header marks run() as failed, as in azmlinfsrv.
    """
    if isinstance(result, Response):
        items = list(result.headers.items())
        code = result.status_code
        failed = code >= 500 or any(
            k.lower() == "x-ms-run-function-failed" and v.lower() == "true" for k, v in items
        )
        headers = [(k, v) for k, v in items if k.lower() not in _OWN_HEADERS]
        if result.is_streamed:
            return Rendered(code, b"", None, headers, failed, iter(result.iter_encoded()))
        return Rendered(code, result.get_data(), None, headers, failed)
    status = getattr(result, "status_code", None)
    if (
        isinstance(status, int)
        and hasattr(result, "headers")
        and (hasattr(result, "get_data") or hasattr(result, "data"))
    ):
        getter = getattr(result, "get_data", None)
        body = getter() if callable(getter) else result.data
        if isinstance(body, str):
            body = body.encode("utf-8")
        raw_headers = result.headers
        items = [
            (str(k), str(v))
            for k, v in (raw_headers.items() if hasattr(raw_headers, "items") else raw_headers)
        ]
        headers = [
            (k, v)
            for k, v in items
            if k.lower() not in ("content-length", "x-ms-run-function-failed")
        ]
        failed = status >= 500 or any(
            k.lower() == "x-ms-run-function-failed" and v.lower() == "true" for k, v in items
        )
        return Rendered(
            status=status, body=bytes(body), content_type=None, headers=headers, failed=failed
        )
    return Rendered(status=200, body=encode_json(result))
