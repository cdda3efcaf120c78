"""amlkit-serve with the sample model and its Azure-style score.py: azmlinfsrv's contract, row by row."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from amlkit_runtime import aml_compat
from serve_server import Server, serving

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "sample"
ROW = [0.5] * 20
MAX_BODY = 64 * 1024


def azure_model_dir(root: Path, sample_model_dir: Path) -> Path:
    """AZUREML_MODEL_DIR as Azure ML lays out a model registered from a folder named
    `model`: `azureml-models/<name>/<version>/model/<files>`."""
    version_dir = root / "azureml-models" / "amlkit-sample-classifier" / "1"
    shutil.copytree(sample_model_dir, version_dir / "model")
    return version_dir


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sample_model_dir: Path) -> Iterator[Server]:
    script = (SAMPLE / "onlinescoring" / "score.py").read_text()
    env = {"AMLKIT_MAX_BODY_BYTES": str(MAX_BODY), "AMLKIT_DEPLOYMENT_NAME": "blue"}
    root = tmp_path_factory.mktemp("sample")
    model_dir = azure_model_dir(root, sample_model_dir)
    with serving(root, script, env=env, model_dir=model_dir) as running:
        yield running


def _load_sample_script(module_name: str) -> ModuleType:
    """The sample score.py imported in this process (its init() not called)."""
    spec = importlib.util.spec_from_file_location(
        module_name, SAMPLE / "onlinescoring" / "score.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    aml_compat.install()  # the script imports azureml.contrib.services, as under azmlinfsrv
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("layout", ["azure", "flat"])
def test_init_finds_the_model_as_azure_lays_it_out_and_flat(
    tmp_path: Path, sample_model_dir: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    model_dir = (
        azure_model_dir(tmp_path, sample_model_dir) if layout == "azure" else sample_model_dir
    )
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(model_dir))
    module = _load_sample_script(f"sample_score_{layout}")
    module.init()
    assert module.run(json.dumps({"data": [ROW]})) in ([0], [1])


def test_init_without_a_model_names_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    module = _load_sample_script("sample_score_empty")
    with pytest.raises(
        FileNotFoundError, match=f"no model.joblib under AZUREML_MODEL_DIR={tmp_path}"
    ):
        module.init()


@pytest.fixture()
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=30) as http:
        yield http


def score(client: httpx.Client, rows: list[list[float]], **headers: str) -> httpx.Response:
    return client.post(
        "/score",
        content=json.dumps({"data": rows}),
        headers={"content-type": "application/json", **headers},
    )


def test_health_answers_healthy(client: httpx.Client) -> None:
    response = client.get("/")
    assert (response.status_code, response.text) == (200, "Healthy")
    assert response.headers["content-type"].startswith("text/html")
    assert client.get("/readiness").status_code == 200
    assert client.get("/liveness").status_code == 200


def test_score_predicts_one_class_a_row(client: httpx.Client) -> None:
    response = score(client, [ROW, [-1.0] * 20, [2.0] * 20])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    predictions = response.json()
    assert len(predictions) == 3 and set(predictions) <= {0, 1}
    assert response.headers["x-ms-run-function-failed"] == "False"
    assert float(response.headers["x-ms-run-fn-exec-ms"]) >= 0
    assert response.headers["x-ms-server-version"].startswith("amlkit-serve/")


def test_request_ids_are_echoed_or_generated(client: httpx.Client) -> None:
    echoed = score(
        client,
        [ROW],
        **{"x-request-id": "abc-123", "x-ms-client-request-id": "client-9", "TraceId": "t1"},
    )
    assert echoed.headers["x-request-id"] == "abc-123"
    assert echoed.headers["x-ms-client-request-id"] == "client-9"
    assert echoed.headers["x-ms-request-id"] == "client-9"
    assert echoed.headers["traceid"] == "t1"
    generated = score(client, [ROW]).headers["x-request-id"]
    assert str(uuid.UUID(generated)) == generated


def test_request_id_over_100_chars_is_431(client: httpx.Client) -> None:
    response = score(client, [ROW], **{"x-request-id": "x" * 101})
    assert response.status_code == 431
    assert "x-request-id" in response.json()["message"]
    assert score(client, [ROW], **{"x-request-id": "x" * 100}).status_code == 200
    assert score(client, [ROW], **{"x-ms-client-request-id": "y" * 101}).status_code == 431


def test_methods_and_unknown_paths(client: httpx.Client) -> None:
    options = client.options("/score")
    assert (options.status_code, options.text) == (200, "")
    for method in ("PUT", "DELETE", "PATCH"):
        response = client.request(method, "/score")
        assert response.status_code == 405  # werkzeug's text, as azmlinfsrv answers it
        assert response.json() == {"message": "The method is not allowed for the requested URL."}
    missing = client.get("/health")
    assert missing.status_code == 404 and "not found" in missing.json()["message"]


def test_get_score_passes_query_as_json(client: httpx.Client) -> None:
    response = client.get("/score", params={"data": json.dumps([ROW])})
    assert response.status_code == 200 and len(response.json()) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "the body is not JSON"),
        (b"", "the body is not JSON"),
        (b"[" * 10000, "the body is not JSON"),
        (b"{}", "no `data` key in a JSON object"),
        (b"[1, 2]", "no `data` key in a JSON object"),
        (b'{"data": "oops"}', "`data` is not rows of numbers"),
        (b'{"data": [[1, 2], [3]]}', "`data` is not rows of numbers"),
        (b'{"data": [[1, 2]]}', "`data` has shape [1, 2]"),
        (b'{"data": [1, 2]}', "`data` has shape [2]"),
        (b'{"data": []}', "`data` has shape [0]"),
        (b'{"data": [[' + b"null, " * 19 + b"1]]}", "`data` holds NaN or infinite numbers"),
    ],
)
def test_bad_input_is_400_naming_what_data_must_hold(
    client: httpx.Client, body: bytes, problem: str
) -> None:
    response = client.post("/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith(problem), message
    assert message.endswith('the body must be {"data": [[20 numbers], ...]}')
    assert response.headers["x-ms-run-function-failed"] == "False"
    assert score(client, [ROW]).status_code == 200  # and the server keeps serving


def test_non_utf8_body_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/score", content=b'{"data": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("Input cannot be decoded as UTF-8")


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    rows = [ROW] * (MAX_BODY // 60)
    body = json.dumps({"data": rows}).encode()
    assert len(body) > MAX_BODY
    assert (
        client.post(
            "/score", content=body, headers={"content-type": "application/json"}
        ).status_code
        == 413
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    assert (
        client.post(
            "/score", content=chunks(), headers={"content-type": "application/json"}
        ).status_code
        == 413
    )
    assert score(client, [ROW]).status_code == 200


def test_connections_are_kept_alive(server: Server) -> None:
    ports = set()
    with httpx.Client(base_url=server.base, timeout=30) as http:
        for _ in range(5):
            response = score(http, [ROW])
            assert response.headers.get("connection", "keep-alive") != "close"
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("socket").getsockname()[1])
    assert len(ports) == 1


def test_swagger_versions(client: httpx.Client) -> None:
    assert client.get("/swagger.json").json()["swagger"] == "2.0"
    assert client.get("/swagger.json", params={"version": "3"}).json()["openapi"].startswith("3.0")
    assert client.get("/swagger.json", params={"version": "3.1"}).json()["openapi"] == "3.1.0"
    undecorated = client.get("/swagger.json").json()["definitions"]["ServiceInput"]
    assert undecorated == {"type": "object", "example": {}}
    assert client.get("/swagger.json", params={"version": "7"}).status_code == 404


def test_metrics_count_requests_by_status(client: httpx.Client) -> None:
    score(client, [ROW])
    client.put("/score")
    text = client.get("/metrics").text
    assert 'amlkit_requests_total{deployment="blue",route="/score",status="200"}' in text
    assert 'amlkit_requests_total{deployment="blue",route="/score",status="405"}' in text
    assert "amlkit_request_duration_seconds_bucket" in text


def test_one_json_access_line_per_request(server: Server, client: httpx.Client) -> None:
    request_id = f"log-{uuid.uuid4()}"
    score(client, [ROW], **{"x-request-id": request_id})
    client.get("/metrics")  # flushes nothing, but proves the line above is already written
    lines = [json.loads(line) for line in server.access_lines() if request_id in line]
    assert len(lines) == 1
    line = lines[0]
    assert (line["deployment"], line["method"], line["path"], line["status"]) == (
        "blue",
        "POST",
        "/score",
        200,
    )
    assert line["latency_ms"] >= line["run_ms"] >= 0


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /score HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    ],
)
def test_malformed_http_gets_400_and_others_are_served(
    server: Server, client: httpx.Client, garbage: bytes
) -> None:
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(garbage)
        answer = raw.recv(4096)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
    assert score(client, [ROW]).status_code == 200


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name} not in /metrics"
    return float(match.group(1))


def test_metrics_count_every_request_in_the_histograms(client: httpx.Client) -> None:
    names = [
        'amlkit_requests_total{deployment="blue",route="/score",status="200"}',
        'amlkit_request_duration_seconds_count{deployment="blue",route="/score"}',
        'amlkit_request_duration_seconds_bucket{deployment="blue",le="+Inf",route="/score"}',
        'amlkit_run_duration_seconds_count{deployment="blue"}',
    ]
    score(client, [ROW])  # every series exists from here on
    before = client.get("/metrics").text
    for _ in range(7):
        assert score(client, [ROW]).status_code == 200
    after = client.get("/metrics").text
    assert [_metric(after, name) - _metric(before, name) for name in names] == [7.0] * len(names)
    assert _metric(after, 'amlkit_run_duration_seconds_sum{deployment="blue"}') > _metric(
        before, 'amlkit_run_duration_seconds_sum{deployment="blue"}'
    )


def test_pipelined_requests_are_answered_in_order_each_whole(server: Server) -> None:
    host, port = server.base.removeprefix("http://").split(":")
    body = json.dumps({"data": [ROW]}).encode()
    requests = b"".join(
        b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-request-id: pipe-%d\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (i, len(body), body)
        for i in range(3)
    )
    requests += b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(requests)
        received = b""
        while chunk := raw.recv(65536):  # the server closes after the last answer
            received += chunk
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert [answer.split(b" ", 1)[0] for answer in answers] == [b"200"] * 4
    for i, answer in enumerate(answers[:3]):
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert b"x-request-id: pipe-%d\r\n" % i in head
        assert int(re.search(rb"content-length: (\d+)", head)[1]) == len(payload)  # type: ignore[index]
        assert len(json.loads(payload)) == 1
    assert answers[3].endswith(b"\r\n\r\nHealthy")
