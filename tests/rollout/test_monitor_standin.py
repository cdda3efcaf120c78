"""The Azure Monitor and scoring stand-in's own rules: a double that answered anything
would let the Azure rollout tests pass for nothing."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from azure.mgmt.monitor.models import Response

from amlkit.components.dynamic.arm_client import ArmClient
from tests.azure_standin import TOKEN, Standin, serve, standin_credential
from tests.azure_standin.monitor import METRICS_API_VERSION, key_of
from tests.rollout.azure_env import FakeClock, make_endpoint, workspace_id

EP = f"{workspace_id('rg', 'ws')}/onlineEndpoints/ep-std"
METRICS = f"{EP}/providers/Microsoft.Insights/metrics"
SPAN = "2026-03-02T09:00:00Z/2026-03-02T09:05:00Z"


@pytest.fixture
def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[httpx.Client, Standin]]:
    with serve(tmp_path) as standin:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(standin.ca_file))
        clock = FakeClock()
        standin.state.monitor.clock = clock.now
        make_endpoint(ArmClient(standin_credential(), standin.base_url), EP, {"blue": 100})
        clock.sleep(3600)
        with httpx.Client(
            verify=ssl.create_default_context(cafile=standin.ca_file),
            base_url=standin.base_url,
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as http:
            yield http, standin


def _query(http: httpx.Client, **params: str) -> httpx.Response:
    return http.get(METRICS, params={"api-version": METRICS_API_VERSION, **params})


def test_an_answer_deserializes_into_azure_mgmt_monitors_model(
    client: tuple[httpx.Client, Standin],
) -> None:
    http, _ = client
    answer = _query(
        http,
        metricnames="RequestsPerMinute",
        timespan=SPAN,
        interval="PT1M",
        aggregation="Average",
        top="100",
        **{"$filter": "deployment eq '*' and statusCodeClass eq '*'"},
    )
    assert answer.status_code == 200, answer.text
    model = Response.deserialize(answer.json())
    (metric,) = model.value
    assert metric.name.value == "RequestsPerMinute"
    (series,) = metric.timeseries
    assert [(m.name and m.name.value, m.value) for m in series.metadatavalues or []] == [
        ("deployment", "blue"),
        ("statusCodeClass", "2xx"),
    ]
    assert [p.average for p in series.data or []] == [600.0] * 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"metricnames": "RequestLatency_P999"}, "Failed to find metric configuration"),
        (
            {"metricnames": "RequestLatency_P99", "$filter": "statusCodeClass eq '*'"},
            "has no dimension 'statuscodeclass'",
        ),
        ({"metricnames": "RequestsPerMinute", "interval": "PT5M"}, "PT1M grain only"),
        ({"metricnames": "RequestsPerMinute", "top": "5"}, "top is valid only with a $filter"),
        ({"metricnames": "RequestsPerMinute", "api-version": "2018-01-01"}, "is not served"),
    ],
)
def test_queries_azure_refuses_are_refused(
    client: tuple[httpx.Client, Standin], params: dict[str, str], message: str
) -> None:
    http, _ = client
    answer = _query(http, timespan=SPAN, **params)
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]


def test_top_limits_the_series_returned(
    client: tuple[httpx.Client, Standin],
) -> None:
    http, standin = client
    standin.state.monitor.error_rate = {"blue": 0.5}
    many = dict(
        metricnames="RequestsPerMinute",
        timespan=SPAN,
        **{"$filter": "deployment eq '*' and statusCodeClass eq '*'"},
    )
    standin.state.monitor.requests_per_minute = 10
    two = _query(http, **many).json()["value"][0]["timeseries"]
    assert len(two) == 2  # 2xx and 5xx of blue
    # Azure's limit (ten series unless `top` says otherwise) is enforced; amlkit asks for 1000.
    assert _query(http, top="1", **many).json()["value"][0]["timeseries"] == two[:1]


def test_scoring_takes_the_endpoint_key_and_a_known_deployment(
    client: tuple[httpx.Client, Standin],
) -> None:
    http, standin = client
    url = f"{standin.base_url}/score/ep-std"
    good = {"Authorization": f"Bearer {key_of('ep-std')}", "azureml-model-deployment": "blue"}
    assert http.post(url, json={}, headers=good).status_code == 200
    wrong_key = {**good, "Authorization": "Bearer nope"}
    assert http.post(url, json={}, headers=wrong_key).status_code == 401
    unknown = {**good, "azureml-model-deployment": "red"}
    assert http.post(url, json={}, headers=unknown).status_code == 404
    assert standin.state.monitor.scored == {"blue": 1}
