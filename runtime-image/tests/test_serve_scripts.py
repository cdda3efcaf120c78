"""amlkit-serve with scoring scripts in Azure ML's documented styles: inference-schema,
@rawhttp with AMLResponse, request_headers, scripts that raise, and broken scripts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_server import Server, serving

pytestmark = pytest.mark.slow

SCHEMA_SCRIPT = """
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
    assert isinstance(data, np.ndarray)
    return (data.sum(axis=1) * scale).tolist()
"""

RAWHTTP_SCRIPT = """
import json
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    if request.method == "GET":
        return AMLResponse(json.dumps({"args": dict(request.args)}), 200, {"Content-Type": "application/json"})
    if request.method != "POST":
        return AMLResponse("bad method", 405)
    body = request.get_data(False)
    if request.headers.get("X-Fail") == "yes":
        return AMLResponse({"error": "asked to fail"}, 503, json_str=True)
    return AMLResponse(body[::-1], 201, {"X-Reply": "a, b", "Content-Type": "application/octet-stream"})
"""

HEADERS_SCRIPT = """
import json


def init():
    print("init ran")


def run(raw_data, request_headers):
    payload = json.loads(raw_data)
    if payload.get("raise"):
        raise ValueError("asked to raise")
    return {"seen": request_headers.get("X-Custom"), "request_id": request_headers.get("X-Request-Id")}
"""


@pytest.fixture(scope="module")
def schema_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("schema"), SCHEMA_SCRIPT) as running:
        yield running


def test_schema_script_gets_keyword_arguments(schema_server: Server) -> None:
    response = httpx.post(schema_server.url("/score"), json={"data": [[1, 2], [3, 4]], "scale": 2})
    assert response.status_code == 200
    assert response.json() == [6.0, 14.0]
    assert httpx.post(schema_server.url("/score"), json={"data": [[1, 1]]}).json() == [2.0]


def test_schema_script_input_errors_are_4xx(schema_server: Server) -> None:
    url = schema_server.url("/score")
    not_json = httpx.post(
        url, content=b'{"data": [[1, 2]]}', headers={"content-type": "text/plain"}
    )
    assert not_json.status_code == 415
    assert (
        httpx.post(url, content=b"{nope", headers={"content-type": "application/json"}).status_code
        == 400
    )
    assert (
        httpx.post(url, content=b"[1, 2]", headers={"content-type": "application/json"}).status_code
        == 400
    )
    missing = httpx.post(url, json={"other": 1})
    assert missing.status_code == 400 and "'data'" in missing.json()["message"]
    assert httpx.post(url, json={"data": [[1, 2]]}).status_code == 200


def test_schema_script_swagger_comes_from_the_decorators(schema_server: Server) -> None:
    swagger = httpx.get(schema_server.url("/swagger.json")).json()
    service_input = swagger["definitions"]["ServiceInput"]
    assert set(service_input["properties"]) == {"data", "scale"}
    for version in ("3", "3.1"):
        openapi = httpx.get(schema_server.url("/swagger.json"), params={"version": version}).json()
        assert set(openapi["components"]["schemas"]["ServiceInput"]["properties"]) == {
            "data",
            "scale",
        }


def test_rawhttp_script_gets_the_request_and_returns_amlresponse(tmp_path: Path) -> None:
    with serving(tmp_path, RAWHTTP_SCRIPT) as server:
        posted = httpx.post(server.url("/score"), content=b"abc\x00\xff")
        assert posted.status_code == 201
        assert posted.content == b"\xff\x00cba"
        assert posted.headers.get_list("x-reply") == ["a", "b"]
        assert posted.headers["content-type"] == "application/octet-stream"
        got = httpx.get(server.url("/score"), params={"k": "v"})
        assert got.json() == {"args": {"k": "v"}}
        failed = httpx.post(server.url("/score"), content=b"x", headers={"X-Fail": "yes"})
        assert failed.status_code == 503
        assert failed.headers["x-ms-run-function-failed"] == "True"
        assert failed.json() == {"error": "asked to fail"}


def test_request_headers_parameter_and_exceptions(tmp_path: Path) -> None:
    with serving(
        tmp_path, HEADERS_SCRIPT, env={"AML_CORS_ORIGINS": "https://app.example"}
    ) as server:
        preflight = httpx.options(
            server.url("/score"),
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        other = httpx.post(
            server.url("/score"), content=b"{}", headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
        response = httpx.post(
            server.url("/score"),
            content=b"{}",
            headers={"X-Custom": "hello", "x-request-id": "rid-1"},
        )
        assert response.json() == {"seen": "hello", "request_id": "rid-1"}
        raised = httpx.post(server.url("/score"), content=b'{"raise": true}')
        assert raised.status_code == 500
        assert raised.headers["x-ms-run-function-failed"] == "True"
        assert "asked to raise" not in raised.text  # the traceback goes to the log only
        assert httpx.post(server.url("/score"), content=b"{}").status_code == 200
    assert "asked to raise" in server.stderr.read_text()


def test_a_body_declared_json_that_is_not_is_400_when_run_raises(tmp_path: Path) -> None:
    # HEADERS_SCRIPT calls json.loads(raw_data) unguarded, as Azure's samples do: azmlinfsrv
    # answers 500 to bad JSON. The server checks the body itself before blaming the client.
    with serving(tmp_path, HEADERS_SCRIPT) as server:
        as_json = {"content-type": "application/json"}
        bad = httpx.post(server.url("/score"), content=b'{"a": ', headers=as_json)
        assert bad.status_code == 400
        assert bad.json()["message"].startswith(
            "The request body is not valid JSON: unexpected end of data"
        )
        assert bad.headers["x-ms-run-function-failed"] == "True"  # run() did raise
        empty = httpx.post(server.url("/score"), content=b"", headers=as_json)
        assert empty.json() == {"message": "The request body is not valid JSON: the body is empty"}
        # Not declared JSON: the server cannot tell whose fault it is, so azmlinfsrv's 500.
        as_text = httpx.post(
            server.url("/score"), content=b'{"a": ', headers={"content-type": "text/plain"}
        )
        assert as_text.status_code == 500
        # Valid JSON that run() still fails on is the script's error: 500.
        raised = httpx.post(server.url("/score"), content=b'{"raise": true}', headers=as_json)
        assert raised.status_code == 500
        metrics = httpx.get(server.url("/metrics")).text
        assert 'amlkit_run_errors_total{deployment="default",kind="bad_json"} 2.0' in metrics
        assert 'amlkit_run_errors_total{deployment="default",kind="exception"} 2.0' in metrics
    log = server.stderr.read_text()
    assert log.count("on a body that is not JSON") == 2
    assert log.count("Traceback") == 2  # only the two 500s log a traceback


def _start_broken(tmp_path: Path, script: str | None) -> subprocess.CompletedProcess[str]:
    if script is not None:
        (tmp_path / "score.py").write_text(script)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "amlkit_runtime.serve.cli",
            "--entry_script",
            "score.py",
            "--port",
            "0",
        ],
        env={"AML_APP_ROOT": str(tmp_path), "AMLKIT_HOST": "127.0.0.1", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (None, "is not a file"),
        ("def init():\n    pass\n", "does not define run()"),
        ("def run(raw):\n    return raw\n", "does not define init()"),
        ("def init():\n    pass\n\ndef run(*args):\n    return 1\n", "*args"),
        ("import not_a_module_anywhere\n", "ModuleNotFoundError"),
    ],
)
def test_unusable_script_exits_3_with_one_line(
    tmp_path: Path, script: str | None, expected: str
) -> None:
    result = _start_broken(tmp_path, script)
    assert result.returncode == 3
    errors = [
        line for line in result.stderr.splitlines() if line.startswith("amlkit-serve: entry script")
    ]
    assert len(errors) == 1 and expected in errors[0]
    assert "Traceback" not in result.stderr


def test_init_that_raises_stops_the_server_with_3(tmp_path: Path) -> None:
    result = _start_broken(
        tmp_path,
        "def init():\n    raise RuntimeError('no model')\n\ndef run(raw):\n    return raw\n",
    )
    assert result.returncode == 3
    assert "init() of" in result.stderr and "no model" in result.stderr


def test_json_results_accept_numpy(tmp_path: Path) -> None:
    script = (
        "import numpy as np\n\ndef init():\n    pass\n\ndef run(raw):\n    return np.arange(3)\n"
    )
    with serving(tmp_path, script) as server:
        assert json.loads(httpx.post(server.url("/score"), content=b"{}").content) == [0, 1, 2]


def test_entry_script_from_the_environment_is_under_the_app_root(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main_score.py").write_text(
        "def init():\n    raise SystemExit(7)\n\ndef run(raw):\n    return raw\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "amlkit_runtime.serve.cli", "--port", "0"],
        env={
            "AML_APP_ROOT": str(tmp_path / "app"),
            "AZUREML_ENTRY_SCRIPT": "main_score.py",
            "AMLKIT_HOST": "127.0.0.1",
            "PATH": "/usr/bin:/bin",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3 and "init() of" in result.stderr
