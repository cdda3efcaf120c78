"""Azure Monitor's metrics API and the endpoints' scoring route, for the stand-in,
driven by a scenario over the live split the ARM stand-in holds.

Metrics: `GET {endpoint id}/providers/Microsoft.Insights/metrics` (API 2024-02-01, what
azure-mgmt-monitor 7 sends) answers Azure Monitor's response shape, the one
azure-mgmt-monitor's `Response` model deserializes: `value[].name.value`,
`value[].timeseries[].metadatavalues[].name.value/value`, `data[].timeStamp/average`.
It enforces what Azure enforces and a client could get wrong: known metric names
only (Azure's 400 names the valid ones), `$filter` dimensions the metric has
(`deployment` for every endpoint metric; `statusCodeClass` only on
`RequestsPerMinute`), `top` (10 series unless asked for more), one-minute grain.

The numbers, minute by minute (one minute = the split held at its start, from the
ARM stand-in's timeline):
- the endpoint gets `requests_per_minute`; a deployment its live share of them, and a
  mirrored deployment its mirror share (an assumption: Azure's docs do not say whether
  mirrored requests show in the endpoint's `deployment` dimension);
- a deployment's 5xx are `error_rate[deployment]` of its requests, the rest 2xx;
- latency percentiles: `latency_ms[deployment]` times 1, 1.5, 2 and 3 for P50..P99;
- minutes that end later than `now - lag` carry no values yet (Azure Monitor's
  ingestion delay): their data points have a timeStamp only.

Scoring: `POST /score/{endpoint}` (the endpoint's `scoringUri`) takes the key
`listKeys` gave, the token `token` gave, or the ARM token (aad_token), and the
`azureml-model-deployment` header; a deployment with `fail_every[deployment] = n`
answers 500 to every n-th request it gets.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.azure_standin.arm import ArmRefusal

if TYPE_CHECKING:
    from tests.azure_standin.state import MLState

METRICS_API_VERSION = "2024-02-01"
METRICS = re.compile(
    r"(?P<resource>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/[^/]+/onlineEndpoints/(?P<ep>[^/]+)"
    r"(?:/deployments/(?P<dep>[^/]+))?)/providers/Microsoft\.Insights/metrics$",
    re.IGNORECASE,
)
SCORING = re.compile(r"/score/(?P<ep>[^/]+)$")
ENDPOINT_METRICS: dict[str, tuple[str, ...]] = {
    # Azure ML's documented online endpoint metrics and their dimensions.
    "RequestsPerMinute": ("deployment", "statusCode", "statusCodeClass", "modelStatusCode"),
    "RequestLatency_P50": ("deployment",),
    "RequestLatency_P90": ("deployment",),
    "RequestLatency_P95": ("deployment",),
    "RequestLatency_P99": ("deployment",),
    "ConnectionsActive": (),
    "NetworkBytes": (),
    "NewConnectionsPerSecond": (),
}
DEPLOYMENT_METRICS: dict[str, tuple[str, ...]] = {
    # Azure ML's documented online deployment metrics (those a gate may name) and theirs.
    "CpuUtilizationPercentage": ("instanceId",),
    "CpuMemoryUtilizationPercentage": ("instanceId",),
    "GpuUtilizationPercentage": ("instanceId",),
    "GpuMemoryUtilizationPercentage": ("instanceId",),
    "GpuEnergyJoules": ("instanceId",),
    "DiskUtilization": ("instanceId", "disk"),
    "DeploymentCapacity": ("instanceId", "State"),
    "DataCollectionEventsPerMinute": ("instanceId", "type"),
    "DataCollectionErrorsPerMinute": ("instanceId", "reason", "type"),
}
PERCENTILE_FACTORS = {"P50": 1.0, "P90": 1.5, "P95": 2.0, "P99": 3.0}


def key_of(endpoint: str) -> str:
    return f"standin-key-{endpoint}"


def aml_token_of(endpoint: str) -> str:
    return f"standin-aml-token-{endpoint}"


@dataclass
class Scenario:
    """What the endpoint's deployments do; the tests set it."""

    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """The test's clock: when writes commit, and which minutes are complete."""
    requests_per_minute: int = 600
    error_rate: dict[str, float] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    deployment_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    """Deployment metrics (`DEPLOYMENT_METRICS`) by name -> deployment -> per-minute value."""
    lag: timedelta = timedelta(minutes=3)
    fail_every: dict[str, int] = field(default_factory=dict)
    scored: Counter[str] = field(default_factory=Counter)
    """Scoring requests each deployment received."""
    queries: list[dict[str, str]] = field(default_factory=list)
    """Every metrics query's parameters, in order."""
    authorized: bool = True
    """False: the caller lacks Monitoring Reader, and Azure Monitor answers 403."""


def metrics(state: MLState, path: str, params: dict[str, str]) -> dict[str, Any]:
    """Azure Monitor's answer to a metrics query of an online endpoint."""
    scenario = state.monitor
    scenario.queries.append(dict(params))
    match = METRICS.match(path)
    assert match is not None
    if not scenario.authorized:
        raise ArmRefusal(
            403,
            "AuthorizationFailed",
            "The client 'rollout' does not have authorization to perform action "
            f"'microsoft.insights/metrics/read' over scope '{match['resource']}' or the scope "
            "is invalid.",
        )
    names = [n.strip() for n in (params.get("metricnames") or "").split(",") if n.strip()]
    known = DEPLOYMENT_METRICS if match["dep"] else ENDPOINT_METRICS
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        kind = "onlineEndpoints/deployments" if match["dep"] else "onlineEndpoints"
        raise ArmRefusal(
            400,
            "BadRequest",
            f"Failed to find metric configuration for provider: Microsoft.MachineLearningServices, "
            f"resource Type: workspaces/{kind}, metric: {', '.join(unknown) or '(none)'}, "
            f"Valid metrics: {', '.join(known)}",
        )
    if params.get("interval", "PT1M") != "PT1M":
        raise ArmRefusal(400, "BadRequest", "The stand-in serves the PT1M grain only.")
    split_by = _filter(params.get("$filter", ""))
    if "top" in params and not split_by:
        raise ArmRefusal(400, "BadRequest", "top is valid only with a $filter.")
    for name in names:
        dims = known[name]
        missing = [d for d in split_by if d not in {x.lower() for x in dims}]
        if missing:
            raise ArmRefusal(
                400,
                "BadRequest",
                f"Metric {name} has no dimension {missing[0]!r} (dimensions: "
                f"{', '.join(dims) or 'none'})",
            )
    start, end = (_parse(t) for t in (params.get("timespan") or "").split("/"))
    minutes = _minutes(start, end)
    top = int(params.get("top", "10"))
    key = next(
        k
        for k, e in state.online.endpoints.items()
        if e.body["name"].lower() == match["ep"].lower()
    )
    value = []
    for name in names:
        series = (
            _deployment_series(scenario, name, match["dep"], minutes)
            if match["dep"]
            else _series(state, scenario, key, name, split_by, minutes)
        )
        value.append(
            {
                "id": f"{match['resource']}/providers/Microsoft.Insights/metrics/{name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": name, "localizedValue": name},
                "displayDescription": f"{name} of the online endpoint",
                "unit": "Count" if name == "RequestsPerMinute" else "Milliseconds",
                "timeseries": series[:top],
                "errorCode": "Success",
            }
        )
    return {
        "cost": len(minutes),
        "timespan": f"{params.get('timespan')}",
        "interval": "PT1M",
        "namespace": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "resourceregion": "westeurope",
        "value": value,
    }


def _series(
    state: MLState,
    scenario: Scenario,
    key: str,
    name: str,
    split_by: list[str],
    minutes: list[datetime],
) -> list[dict[str, Any]]:
    deployments = sorted(d.body["name"] for d in state.online.deployments.get(key, {}).values())
    complete = scenario.clock() - scenario.lag
    by_series: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    classes = ("2xx", "5xx") if "statuscodeclass" in split_by else ("",)
    for deployment in deployments:
        for status in classes:
            points = []
            for minute in minutes:
                point: dict[str, Any] = {"timeStamp": _iso(minute)}
                if minute + timedelta(minutes=1) <= complete:
                    number = _value(state, scenario, key, name, deployment, status, minute)
                    if number is not None:
                        point["average"] = number
                points.append(point)
            by_series[(deployment, status)] = points
    series = []
    for (deployment, status), points in by_series.items():
        if not any("average" in p for p in points):
            continue  # Azure Monitor leaves out a series without data in the timespan
        metadata = [
            {"name": {"value": "deployment", "localizedValue": "deployment"}, "value": deployment}
        ]
        if status:
            metadata.append(
                {
                    "name": {"value": "statusCodeClass", "localizedValue": "statusCodeClass"},
                    "value": status,
                }
            )
        series.append({"metadatavalues": metadata, "data": points})
    return series


def _value(
    state: MLState,
    scenario: Scenario,
    key: str,
    name: str,
    deployment: str,
    status: str,
    minute: datetime,
) -> float | None:
    traffic, mirror = state.split_at(key, minute)
    share = traffic.get(deployment, 0) + mirror.get(deployment, 0)
    requests = scenario.requests_per_minute * share / 100
    if name == "RequestsPerMinute":
        errors = math.floor(requests * scenario.error_rate.get(deployment, 0.0) + 0.5)
        count = errors if status == "5xx" else requests - errors
        return float(count) if count else None
    if not requests:
        return None
    base = scenario.latency_ms.get(deployment, 50.0)
    return base * PERCENTILE_FACTORS[name.rsplit("_", 1)[-1]]


def _deployment_series(
    scenario: Scenario, name: str, deployment: str, minutes: list[datetime]
) -> list[dict[str, Any]]:
    """A deployment metric without a filter: one series, its instances averaged."""
    value = scenario.deployment_metrics.get(name, {}).get(deployment)
    complete = scenario.clock() - scenario.lag
    points: list[dict[str, Any]] = [
        {"timeStamp": _iso(m)}
        | ({"average": value} if value is not None and m + timedelta(minutes=1) <= complete else {})
        for m in minutes
    ]
    return [{"metadatavalues": [], "data": points}] if any("average" in p for p in points) else []


def score(state: MLState, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """An endpoint's scoring route: auth as its authMode asks, then the deployment's answer."""
    from tests.azure_standin.server import TOKEN

    match = SCORING.match(path)
    assert match is not None
    endpoint = next(
        (e for e in state.online.endpoints.values() if e.body["name"] == match["ep"]), None
    )
    if endpoint is None:
        return 404, {"message": f"endpoint {match['ep']} not found"}
    mode = endpoint.body["properties"].get("authMode")
    expected = {
        "Key": key_of(match["ep"]),
        "AMLToken": aml_token_of(match["ep"]),
        "AADToken": TOKEN,
    }
    if headers.get("authorization") != f"Bearer {expected.get(mode)}":
        return 401, {"message": f"{mode} authentication failed"}
    deployment = headers.get("azureml-model-deployment")
    names = {
        d.body["name"] for d in state.online.deployments.get(_key(state, match["ep"]), {}).values()
    }
    if deployment is None or deployment not in names:
        return 404, {"message": f"deployment {deployment!r} not found"}
    state.monitor.scored[deployment] += 1
    every = state.monitor.fail_every.get(deployment)
    if every and state.monitor.scored[deployment] % every == 0:
        return 500, {"message": "model error"}
    return 200, {"deployment": deployment}


def _key(state: MLState, endpoint: str) -> str:
    return next(k for k, e in state.online.endpoints.items() if e.body["name"] == endpoint)


def _filter(text: str) -> list[str]:
    """The dimensions a `$filter` like `deployment eq '*' and statusCodeClass eq '*'` names."""
    return [m.lower() for m in re.findall(r"(\w+)\s+eq\s+'", text)]


def _parse(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ArmRefusal(400, "BadRequest", f"Invalid timespan part {text!r}") from None


def _minutes(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(second=0, microsecond=0)
    return [
        first + timedelta(minutes=i)
        for i in range(max(0, math.ceil((end - first).total_seconds() / 60)))
    ]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
