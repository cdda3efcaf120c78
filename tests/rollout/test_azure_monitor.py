"""Azure Monitor's answers, as azure-mgmt-monitor's own `Response` model deserializes
them, turned into readings; and the answers a rollout cannot go on with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.mgmt.monitor.models import Response

from amlkit.rollout.azure import Answer, AzureTargetError, read_window
from amlkit.rollout.sources import Window

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(minutes=3))


def _minute(i: int) -> str:
    return (T0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _series(values: list[float | None], **dimensions: str) -> dict[str, Any]:
    return {
        "metadatavalues": [
            {"name": {"value": k, "localizedValue": k}, "value": v} for k, v in dimensions.items()
        ],
        "data": [
            {"timeStamp": _minute(i), **({"average": v} if v is not None else {})}
            for i, v in enumerate(values)
        ],
    }


def _answer(*metrics: tuple[str, list[dict[str, Any]]], **extra: Any) -> Answer:
    body = {
        "cost": 3,
        "timespan": f"{_minute(0)}/{_minute(3)}",
        "interval": "PT1M",
        "namespace": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "resourceregion": "westeurope",
        "value": [
            {
                "id": f"/subscriptions/s/.../providers/Microsoft.Insights/metrics/{name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": name, "localizedValue": name},
                "unit": "Count",
                "timeseries": series,
                "errorCode": "Success",
                **extra,
            }
            for name, series in metrics
        ],
    }
    response = Response.deserialize(body)
    assert isinstance(response, Response)
    return [name for name, _ in metrics], response


def test_requests_are_summed_by_status_class_and_latency_weighted_by_requests() -> None:
    requests = _answer(
        (
            "RequestsPerMinute",
            [
                _series([10, 30, 0], deployment="green", statusCodeClass="2xx"),
                _series([0, 10, None], deployment="green", statusCodeClass="5xx"),
                _series([90, 90, 90, 90], deployment="blue", statusCodeClass="2xx"),
            ],
        )
    )
    latency = _answer(
        ("RequestLatency_P99", [_series([100, 300, None], deployment="green")]),
        ("RequestLatency_P50", [_series([20, 20, 20, 999], deployment="blue")]),
    )

    readings = read_window([requests, latency], ["green", "blue"], WINDOW)

    assert readings["green"].statuses == {"2xx": 40, "5xx": 10}
    assert readings["green"].error_rate == pytest.approx(0.2)
    # 10 requests at 100 ms, 40 at 300 ms: the window's P99 is the minutes' weighted mean.
    assert readings["green"].latency_ms == {"p99": pytest.approx(260.0)}
    # The fourth minute starts at the window's end: not counted.
    assert readings["blue"].statuses == {"2xx": 270}
    assert readings["blue"].latency_ms == {"p50": 20.0}


def test_azure_metric_names_are_read_as_the_gates_name_them() -> None:
    requests = _answer(
        (
            "RequestsPerMinute",
            [
                _series([60, 60, 60], deployment="green", statusCodeClass="2xx"),
                _series([0, 30, 0], deployment="green", statusCodeClass="5xx"),
            ],
        )
    )
    cpu = _answer(("CpuUtilizationPercentage", [_series([40, 50, 60])]))

    readings = read_window(
        [requests],
        ["green"],
        WINDOW,
        ["RequestsPerMinute", "CpuUtilizationPercentage"],
        {"green": [cpu]},
    )

    assert readings["green"].metrics == {
        "RequestsPerMinute": 70.0,
        "CpuUtilizationPercentage": 50.0,
    }


def test_empty_timeseries_give_empty_readings() -> None:
    readings = read_window(
        [_answer(("RequestsPerMinute", [])), _answer(("RequestLatency_P99", []))],
        ["green"],
        WINDOW,
        ["CpuUtilizationPercentage"],
        {"green": [_answer(("CpuUtilizationPercentage", []))]},
    )
    green = readings["green"]
    assert (green.requests, green.error_rate, green.latency_ms, green.metrics) == (0, None, {}, {})


def test_a_metric_azure_answers_that_was_not_asked_for_is_an_error() -> None:
    _, response = _answer(("RequestsPerMinute", []), ("RequestLatency_P999", []))
    with pytest.raises(AzureTargetError) as error:
        read_window([(["RequestsPerMinute"], response)], ["green"], WINDOW)
    assert str(error.value) == (
        "Azure Monitor answered metric 'RequestLatency_P999', which was not asked for "
        "(asked: RequestsPerMinute)"
    )


def test_a_metric_azure_could_not_read_is_an_error() -> None:
    answer = _answer(
        ("RequestsPerMinute", []),
        errorCode="InternalServerError",
        errorMessage="The metric store did not answer",
    )
    with pytest.raises(
        AzureTargetError,
        match=r"^Azure Monitor could not read RequestsPerMinute: InternalServerError The metric",
    ):
        read_window([answer], ["green"], WINDOW)


@pytest.mark.parametrize(
    ("series", "missing"),
    [
        (_series([1, 2, 3], statusCodeClass="2xx"), "'deployment'"),
        (_series([1, 2, 3], deployment="green"), "'statusCodeClass'"),
    ],
)
def test_a_series_without_its_dimensions_is_an_error(series: dict[str, Any], missing: str) -> None:
    with pytest.raises(AzureTargetError, match=f"RequestsPerMinute without its {missing}"):
        read_window([_answer(("RequestsPerMinute", [series]))], ["green"], WINDOW)


def test_dimension_names_and_values_are_matched_without_case() -> None:
    answer = _answer(
        (
            "RequestsPerMinute",
            [_series([5, 5, 5], Deployment="Green", StatusCodeClass="5XX")],
        )
    )
    assert read_window([answer], ["green"], WINDOW)["green"].statuses == {"5xx": 15}
