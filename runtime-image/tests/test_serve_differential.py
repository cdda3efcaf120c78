"""The same scoring scripts and requests on amlkit-serve and on Azure's own server.

azmlinfsrv (azureml-inference-server-http 1.5.1, a dev dependency) and amlkit-serve
serve each script from the same app folder, on 127.0.0.1, at the same time. Every
request of the table goes to both over real HTTP, and the answers must agree on the
status, the body and the headers a client reads, except where the README's table of
differences ("The scoring runtime") says amlkit-serve answers otherwise: those cases
name their row, and a test checks that the row is there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
JSON_SPACING = "JSON answers"  # README row: same values, compact spacing
AZMLINFSRV = Path(sys.executable).with_name("azmlinfsrv")
KEY = "0f8fad5b-d9cb-469f-a165-70867728950e"  # an App Insights key: any UUID
HEADERS_COMPARED = (
    "content-type",
    "content-length",
    "transfer-encoding",
    "x-ms-run-function-failed",
    "x-request-id",
    "x-ms-request-id",
    "x-ms-client-request-id",
    "traceid",
    "x-reply",
    "x-custom",
)

PLAIN = """
import json, os

VARIABLES = ("AZUREML_ENTRY_SCRIPT", "AZUREML_CONFIG_FILE", "AML_APP_INSIGHTS_ENABLED",
             "AML_APP_INSIGHTS_KEY", "HTTP_X_MS_SERVER_VERSION", "WORKER_COUNT", "SERVER_PORT",
             "HEALTH_PORT", "AZUREML_MODEL_DIR", "AML_APP_ROOT")


def init():
    global ENTRY
    ENTRY = os.environ.get("AZUREML_ENTRY_SCRIPT", "")  # unset with --config_file alone


def run(raw_data):
    payload = json.loads(raw_data)
    if payload.get("sleep"):
        import time
        time.sleep(payload["sleep"])
    if payload.get("env"):
        return {name: os.environ.get(name) for name in VARIABLES}
    return {"echo": payload, "entry": os.path.basename(ENTRY)}
"""

SCHEMA = """
import numpy as np
from inference_schema.schema_decorators import input_schema, output_schema
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0]])))
@input_schema("scale", StandardPythonParameterType(1.0))
@output_schema(NumpyParameterType(np.array([1.0])))
def run(data, scale=1.0):
    return (data.sum(axis=1) * scale).tolist()
"""

RAWHTTP = """
import json
from azureml_inference_server_http.api.aml_request import AMLRequest, rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    if request.method == "GET":
        pairs = sorted(name for name, value in request.headers if name.startswith("X-"))
        return AMLResponse(json.dumps({"args": request.args.to_dict(flat=False), "names": pairs}),
                           200, {"Content-Type": "application/json"})
    if request.method == "OPTIONS":
        return AMLResponse("", 204)
    mode = request.headers.get("X-Mode", "")
    if mode == "stream":
        return AMLResponse((f"part{i};" for i in range(5)), 200)
    if mode == "json":
        return AMLResponse(request.get_json(), 202, {"X-Reply": "a, b"}, json_str=True)
    if mode == "fail":
        return AMLResponse({"error": "asked to fail"}, 503, json_str=True)
    if mode == "flagged":
        return AMLResponse("flagged", 200, run_function_failed=True)
    return AMLResponse(request.get_data()[::-1], 201, {"Content-Type": "application/octet-stream"})
"""

CONTRIB = """
import json
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


def run(raw_data, request_headers):
    if raw_data == "bad":
        return AMLResponse({"message": "bad input"}, 400, json_str=True)
    if raw_data == "raise":
        raise ValueError("asked to raise")
    return {"custom": request_headers.get("X-Custom"), "length": len(raw_data)}
"""


@dataclass(frozen=True)
class Case:
    """One request to both servers of one script; `differs` names a README row when the
    answers differ on purpose, and `amlkit` checks amlkit-serve's own answer then."""

    name: str
    server: str
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    differs: str | None = None
    amlkit: Callable[[httpx.Response], bool] | None = None
    normalize: Callable[[object, str], object] | None = None


def _json_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "x-request-id": "req-1", **extra}


def _env_view(body: object, server: str) -> object:
    """Values that must differ by server (its version, its port) made comparable."""
    assert isinstance(body, dict)
    out = dict(body)
    version = out.get("HTTP_X_MS_SERVER_VERSION")
    if version is not None:
        out["HTTP_X_MS_SERVER_VERSION"] = version.split("/")[0] in ("azmlinfsrv", "amlkit-serve")
    for name in ("SERVER_PORT", "HEALTH_PORT"):
        out[name] = out[name] is not None and out[name].isdigit()
    root = out.pop("AML_APP_ROOT")  # each server has its own copy of the app folder
    for name in ("AZUREML_ENTRY_SCRIPT", "AZUREML_MODEL_DIR", "AZUREML_CONFIG_FILE"):
        if isinstance(out[name], str) and isinstance(root, str):
            out[name] = os.path.relpath(out[name], root)
    return out


CASES = [
    Case("plain POST", "plain", "POST", "/score", b'{"data": [1, 2]}', _json_headers()),
    Case(
        "plain text/plain", "plain", "POST", "/score", b'{"a": 1}', {"Content-Type": "text/plain"}
    ),
    Case(
        "plain GET query", "plain", "GET", "/score?x=1&y=%5B1%2C2%5D", headers={"x-request-id": "r"}
    ),
    Case(
        "ids echoed",
        "plain",
        "POST",
        "/score",
        b"{}",
        _json_headers(**{"x-ms-client-request-id": "client-9", "TraceId": "t-1"}),
    ),
    Case("request id too long", "plain", "POST", "/score", b"{}", {"x-request-id": "x" * 101}),
    Case("health", "plain", "GET", "/", headers={"x-request-id": "h"}),
    Case("unknown path", "plain", "GET", "/nowhere", headers={"x-request-id": "n"}),
    Case("OPTIONS", "plain", "OPTIONS", "/score", headers={"x-request-id": "o"}),
    Case("other method", "plain", "PUT", "/score", b"{}", {"x-request-id": "p"}),
    Case(
        "swagger of an undecorated run()",
        "plain",
        "GET",
        "/swagger.json",
        headers={"x-request-id": "sw"},
        differs="generated `/swagger.json` of an undecorated `run()`",
        amlkit=lambda r: r.status_code == 200 and "/score" in r.json()["paths"],
    ),
    Case(
        "swagger bad version",
        "plain",
        "GET",
        "/swagger.json?version=9",
        headers={"x-request-id": "s9"},
    ),
    Case("body not UTF-8", "plain", "POST", "/score", b"\xff\xfe", {"x-request-id": "u"}),
    Case("run() raises", "plain", "POST", "/score", b"[1]", {"Content-Type": "text/plain"}),
    Case(
        "declared JSON that is not",
        "plain",
        "POST",
        "/score",
        b"{not json",
        _json_headers(),
        differs="body declared JSON that is not, and `run()` raised",
        amlkit=lambda r: r.status_code == 400 and "not valid JSON" in r.json()["message"],
    ),
    Case(
        "environment",
        "plain",
        "POST",
        "/score",
        b'{"env": true}',
        _json_headers(),
        normalize=_env_view,
    ),
    Case(
        "environment, App Insights key and no version",
        "insights",
        "POST",
        "/score",
        b'{"env": true}',
        _json_headers(),
        normalize=_env_view,
    ),
    Case(
        "config.json names the script and the timeout",
        "config",
        "POST",
        "/score",
        b'{"sleep": 3}',
        _json_headers(),
    ),
    Case(
        "schema POST",
        "schema",
        "POST",
        "/score",
        b'{"data": [[1, 2], [3, 4]], "scale": 2}',
        _json_headers(),
    ),
    Case("schema missing key", "schema", "POST", "/score", b'{"scale": 2}', _json_headers()),
    Case("schema not an object", "schema", "POST", "/score", b"[1, 2]", _json_headers()),
    Case(
        "schema not JSON",
        "schema",
        "POST",
        "/score",
        b'{"data": [[1, 2]]}',
        {"Content-Type": "text/plain"},
    ),
    Case(
        "schema GET query",
        "schema",
        "GET",
        "/score?data=%5B%5B1%2C2%5D%5D",
        headers={"x-request-id": "g"},
    ),
    Case(
        "rawhttp GET headers and args",
        "rawhttp",
        "GET",
        "/score?a=1&a=2&b=x",
        headers={"X-One": "1", "X-Two": "2"},
    ),
    Case("rawhttp body reversed", "rawhttp", "POST", "/score", b"abcdef", {"x-request-id": "b"}),
    Case(
        "rawhttp JSON and repeated header",
        "rawhttp",
        "POST",
        "/score",
        b'{"k": [1]}',
        _json_headers(**{"X-Mode": "json"}),
    ),
    Case("rawhttp 503", "rawhttp", "POST", "/score", b"x", {"X-Mode": "fail", "x-request-id": "f"}),
    Case(
        "rawhttp run_function_failed",
        "rawhttp",
        "POST",
        "/score",
        b"x",
        {"X-Mode": "flagged", "x-request-id": "ff"},
    ),
    Case(
        "rawhttp generator streams",
        "rawhttp",
        "POST",
        "/score",
        b"x",
        {"X-Mode": "stream", "x-request-id": "s"},
    ),
    Case("rawhttp OPTIONS", "rawhttp", "OPTIONS", "/score", headers={"x-request-id": "ro"}),
    Case(
        "contrib AMLResponse",
        "contrib",
        "POST",
        "/score",
        b"bad",
        {"Content-Type": "text/plain", "x-request-id": "c"},
    ),
    Case(
        "contrib request_headers",
        "contrib",
        "POST",
        "/score",
        b"abc",
        {"X-Custom": "yes", "x-request-id": "c2"},
    ),
    Case("contrib run() raises", "contrib", "POST", "/score", b"raise", {"x-request-id": "c3"}),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass(frozen=True)
class Setup:
    """How a script is served: its files, flags and variables (the same for both servers)."""

    script: str
    flags: tuple[str, ...] = ("--entry_script", "score.py")
    env: dict[str, str] = field(default_factory=dict)
    config: dict[str, object] | None = None
    health_port: bool = False


SETUPS = {
    "plain": Setup(PLAIN),
    "insights": Setup(
        PLAIN,
        ("--entry_script", "score.py", "--appinsights_instrumentation_key", KEY),
        {"SERVER_VERSION_LOG_RESPONSE_ENABLED": "false"},
    ),
    "config": Setup(
        PLAIN,
        ("--config_file", "config.json"),
        {"SEPERATE_HEALTH_ENDPOINT": "true"},
        {"AZUREML_ENTRY_SCRIPT": "score.py", "SCORING_TIMEOUT_MS": 1000},
        health_port=True,
    ),
    "schema": Setup(SCHEMA),
    "rawhttp": Setup(RAWHTTP),
    "contrib": Setup(CONTRIB),
}


def _start(kind: str, setup: Setup, folder: Path) -> tuple[Running, int | None]:
    port = _free_port()
    health = _free_port() if setup.health_port else None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_", "AMLKIT_"))}
    env.update(setup.env, AML_APP_ROOT=str(folder), AZUREML_MODEL_DIR=str(folder), WORKER_COUNT="1")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = (
        [str(AZMLINFSRV)]
        if kind == "azmlinfsrv"
        else [sys.executable, "-m", "amlkit_runtime.serve.cli"]
    )
    if kind == "amlkit":
        env["AMLKIT_HOST"] = "127.0.0.1"
    command += [*setup.flags, "--port", str(port)]
    if health is not None:
        command += ["--health_port", str(health)]
    log = folder / f"{kind}.log"
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    return Running(process, port, log), health


def _wait_healthy(running: Running, deadline: float) -> None:
    while True:
        try:
            if httpx.get(running.url("/"), timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if running.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start:\n{running.log.read_text()[-3000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, str], tuple[Running, int | None]]]:
    """Both servers for every setup, all started at once."""
    started: dict[tuple[str, str], tuple[Running, int | None]] = {}
    try:
        for name, setup in SETUPS.items():
            for kind in ("azmlinfsrv", "amlkit"):
                folder = tmp_path_factory.mktemp(f"{name}-{kind}")
                (folder / "score.py").write_text(setup.script)
                if setup.config is not None:
                    (folder / "config.json").write_text(json.dumps(setup.config))
                started[(name, kind)] = _start(kind, setup, folder)
        deadline = time.monotonic() + 120
        for running, _ in started.values():
            _wait_healthy(running, deadline)
        yield started
    finally:
        for running, _ in started.values():
            running.process.terminate()
        for running, _ in started.values():
            try:
                running.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                running.process.kill()


def _send(running: Running, case: Case) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        return client.request(
            case.method, running.url(case.path), content=case.body, headers=case.headers
        )


def _view(response: httpx.Response, case: Case, kind: str) -> dict[str, object]:
    body: object = response.content
    headers = {name: response.headers.get_list(name) for name in HEADERS_COMPARED}
    if response.headers.get("content-type", "").startswith("application/json") and response.content:
        body = response.json()
        if case.normalize is not None:
            body = case.normalize(body, kind)
        # Declared: JSON is written compact (README row JSON_SPACING), so lengths differ.
        headers.pop("content-length")
    if not any(name.lower() == "x-request-id" for name in case.headers):
        for name in ("x-request-id", "x-ms-request-id"):  # generated: a UUID on both
            headers[name] = [_uuid_shape(value) for value in headers[name]]
    return {
        "status": response.status_code,
        "body": body,
        "headers": headers,
        "run-fn-exec-ms present": "x-ms-run-fn-exec-ms" in response.headers,
    }


def _uuid_shape(value: str) -> str:
    try:
        return f"<uuid{uuid.UUID(value).version}>"
    except ValueError:
        return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_both_servers_answer_alike(
    servers: dict[tuple[str, str], tuple[Running, int | None]], case: Case
) -> None:
    theirs = _send(servers[(case.server, "azmlinfsrv")][0], case)
    ours = _send(servers[(case.server, "amlkit")][0], case)
    if case.differs is not None:
        assert case.amlkit is not None and case.amlkit(ours), ours.text
        assert _view(theirs, case, "azmlinfsrv") != _view(ours, case, "amlkit")
        return
    assert _view(ours, case, "amlkit") == _view(theirs, case, "azmlinfsrv")


def test_the_environment_case_sees_the_full_entry_script_path(
    servers: dict[tuple[str, str], tuple[Running, int | None]],
) -> None:
    """Beyond agreeing: the values the script reads are the ones azmlinfsrv documents."""
    case = next(c for c in CASES if c.name == "environment, App Insights key and no version")
    running, _ = servers[("insights", "amlkit")]
    seen = _send(running, case).json()
    assert seen["AZUREML_ENTRY_SCRIPT"] == os.path.realpath(Path(running.log).parent / "score.py")
    assert (seen["AML_APP_INSIGHTS_ENABLED"], seen["AML_APP_INSIGHTS_KEY"]) == ("true", KEY)
    assert seen["HTTP_X_MS_SERVER_VERSION"] is None  # SERVER_VERSION_LOG_RESPONSE_ENABLED=false
    default = _send(servers[("plain", "amlkit")][0], case).json()
    assert default["AML_APP_INSIGHTS_ENABLED"] == "false"
    assert default["HTTP_X_MS_SERVER_VERSION"] == "amlkit-serve/0.1.0"


def test_the_health_port_answers_like_azmlinfsrv_s(
    servers: dict[tuple[str, str], tuple[Running, int | None]],
) -> None:
    answers = []
    for kind in ("azmlinfsrv", "amlkit"):
        _, health = servers[("config", kind)]
        assert health is not None
        response = httpx.get(
            f"http://127.0.0.1:{health}/", headers={"x-request-id": "hp"}, timeout=10
        )
        answers.append((response.status_code, response.text, response.headers["x-request-id"]))
    assert answers[0] == answers[1] == (200, "Healthy", "hp")


def test_the_server_version_header_differs_as_declared(
    servers: dict[tuple[str, str], tuple[Running, int | None]],
) -> None:
    versions = {
        kind: httpx.get(servers[("plain", kind)][0].url("/"), timeout=10).headers[
            "x-ms-server-version"
        ]
        for kind in ("azmlinfsrv", "amlkit")
    }
    assert versions == {"azmlinfsrv": "azmlinfsrv/1.5.1", "amlkit": "amlkit-serve/0.1.0"}
    assert "`x-ms-server-version`" in _readme_section()
    hidden = servers[("insights", "amlkit")][0]
    assert "x-ms-server-version" not in httpx.get(hidden.url("/"), timeout=10).headers


def _readme_section() -> str:
    text = README.read_text()
    start = text.index("## The scoring runtime")
    return text[start : text.index("\n## ", start + 1)]


def test_every_declared_difference_is_a_row_of_the_readme_table() -> None:
    section = _readme_section()
    rows = [line for line in section.splitlines() if line.startswith("|")]
    for case in CASES:
        if case.differs is not None:
            assert any(case.differs in row for row in rows), case.differs


def test_the_table_is_not_empty() -> None:
    assert shutil.which(str(AZMLINFSRV)) is not None, (
        "azureml-inference-server-http is a dev dependency"
    )
    assert len({c.server for c in CASES}) == len(SETUPS)
