"""Readings on Azure: Azure Monitor's metrics API (azure-mgmt-monitor's `metrics.list`,
API 2024-02-01) on the endpoint's ARM id, one-minute grain.

Azure ML's documented endpoint metrics: `RequestsPerMinute` (dimensions `deployment`,
`statusCode`, `statusCodeClass`, `modelStatusCode`) and `RequestLatency_P50/P90/P95/P99`
(milliseconds, dimension `deployment`); any other metric a gate names is read on each
deployment. How a window's minutes are combined: `read_window`."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError

from ..sources import LATENCY_PERCENTILES, Reading, Window
from .endpoint import AzureEndpoint, AzureTargetError

REQUESTS = "RequestsPerMinute"
LATENCY = {p: f"RequestLatency_{p.upper()}" for p in LATENCY_PERCENTILES}
"""Reading.latency_ms key -> Azure ML's endpoint metric."""
DEPLOYMENT = "deployment"
STATUS_CLASS = "statusCodeClass"
ENDPOINT_METRICS = (REQUESTS, *LATENCY.values())
"""Read on the endpoint, split by deployment; every other metric on each deployment."""
TOP = 1000
"""Time series per query: Azure Monitor returns 10 unless told, fewer than deployments
times status classes on a busy endpoint."""
Answer = tuple[Sequence[str], Any]
"""The metric names a query asked for, and azure-mgmt-monitor's `Response` to it."""


class MonitorMetrics:
    """Each deployment's readings from Azure Monitor, one-minute grain.

    Queries per window: `RequestsPerMinute` split by `deployment` and
    `statusCodeClass`; the four latency percentiles split by `deployment` (both on the
    endpoint); and, when a gate names one, each deployment's own metrics
    (`CpuUtilizationPercentage`, `DeploymentCapacity`... on the deployment's ARM id,
    averaged over its instances by Azure Monitor)."""

    def __init__(
        self, endpoint: AzureEndpoint, credential: TokenCredential, base_url: str, lag: timedelta
    ) -> None:
        from azure.mgmt.monitor import MonitorManagementClient

        self.endpoint = endpoint
        self.lag = lag
        self._client = MonitorManagementClient(
            credential,
            endpoint.subscription_id,
            base_url=base_url,
            credential_scopes=[f"{base_url}/.default"],
        )

    def read(
        self, deployments: Sequence[str], window: Window, metrics: Sequence[str] = ()
    ) -> dict[str, Reading]:
        extra = list(dict.fromkeys(metrics))
        answers = [
            self._query(
                self.endpoint.id,
                [REQUESTS],
                f"{DEPLOYMENT} eq '*' and {STATUS_CLASS} eq '*'",
                window,
            ),
            self._query(self.endpoint.id, list(LATENCY.values()), f"{DEPLOYMENT} eq '*'", window),
        ]
        own = [m for m in extra if m not in ENDPOINT_METRICS]
        per_deployment = {
            d: [self._query(f"{self.endpoint.id}/deployments/{d}", own, None, window)]
            for d in deployments
            if own
        }
        return read_window(answers, deployments, window, extra, per_deployment)

    def _query(
        self, resource: str, names: list[str], filter_: str | None, window: Window
    ) -> Answer:
        try:
            return names, self._client.metrics.list(
                resource,
                timespan=f"{_iso(window.start)}/{_iso(window.end)}",
                interval="PT1M",
                metricnames=",".join(names),
                aggregation="Average",
                filter=filter_,
                top=TOP if filter_ else None,
            )
        except HttpResponseError as error:
            code = error.error.code if error.error else error.status_code
            text = (error.error.message if error.error else None) or error.message or ""
            what = self.endpoint.name
            if resource != self.endpoint.id:
                what += f" deployment {resource.rsplit('/', 1)[-1]}"
            first = text.splitlines()[0] if text else ""
            raise AzureTargetError(
                f"Azure Monitor refused metrics {', '.join(names)} of {what}: {code}: {first}"
            ) from None
        except AzureError as error:
            raise AzureTargetError(
                f"Azure Monitor, metrics of {self.endpoint.name}: {error}"
            ) from None


@dataclass(frozen=True)
class Series:
    """One time series of one metric: its dimension values (lower-case names) and
    its one-minute values (minutes without data left out)."""

    metric: str
    dimensions: Mapping[str, str]
    points: Mapping[datetime, float]


def series(response: Any, asked: Sequence[str]) -> list[Series]:
    """The time series of an azure-mgmt-monitor `Response`; a metric Azure reports
    that was not asked for, or one Azure could not read, is an error."""
    found: list[Series] = []
    wanted = {name.lower(): name for name in asked}
    for metric in response.value or []:
        name = metric.name.value if metric.name is not None else None
        if name is None or name.lower() not in wanted:
            raise AzureTargetError(
                f"Azure Monitor answered metric {name!r}, which was not asked for (asked: "
                f"{', '.join(asked)})"
            )
        if metric.error_code not in (None, "Success"):
            raise AzureTargetError(
                f"Azure Monitor could not read {name}: {metric.error_code} "
                f"{metric.error_message or ''}".rstrip()
            )
        for element in metric.timeseries or []:
            dimensions = {
                (m.name.value if m.name is not None else "").lower(): str(m.value)
                for m in element.metadatavalues or []
            }
            points = {
                p.time_stamp: float(p.average)
                for p in element.data or []
                if p.average is not None and math.isfinite(p.average)
            }
            found.append(Series(wanted[name.lower()], dimensions, points))
    return found


def read_window(
    answers: Sequence[Answer],
    deployments: Sequence[str],
    window: Window,
    extra: Sequence[str] = (),
    per_deployment: Mapping[str, Sequence[Answer]] | None = None,
) -> dict[str, Reading]:
    """Each deployment's Reading over `window` from Azure Monitor's answers.

    An answer is the metric names asked and azure-mgmt-monitor's `Response`;
    `answers` are the endpoint's (split by `deployment`), `per_deployment` each
    deployment's own. A minute belongs to the window when it starts in it.
    - `RequestsPerMinute` is a per-minute count: a window's requests are the sum of
      its minutes, per status class (`2xx`, `4xx`, `5xx`...);
    - a latency percentile is a per-minute value: a window's is the mean of its
      minutes weighted by each minute's requests (percentiles do not add up; this is
      what Azure's own charts show over a longer grain, weighted so an idle minute
      counts for nothing);
    - a metric named in `extra`: the mean of its minutes (`RequestsPerMinute`: the
      mean per minute of all answers; `RequestLatency_P*`: as the percentile above).
    An endpoint series without a `deployment` dimension is an error (the metric
    cannot be told apart by deployment); deployments not asked for are ignored.
    """
    asked = {d.lower(): d for d in deployments}
    statuses: dict[str, dict[str, float]] = {d: defaultdict(float) for d in deployments}
    minute_requests: dict[str, dict[datetime, float]] = {d: defaultdict(float) for d in deployments}
    per_metric: dict[str, dict[str, dict[datetime, float]]] = defaultdict(dict)

    def inside(points: Mapping[datetime, float]) -> dict[datetime, float]:
        return {t: v for t, v in points.items() if window.start <= t < window.end}

    for asked_names, answer in answers:
        for one in series(answer, asked_names):
            deployment = one.dimensions.get(DEPLOYMENT)
            if deployment is None:
                raise AzureTargetError(
                    f"Azure Monitor answered {one.metric} without its {DEPLOYMENT!r} dimension; "
                    f"a gate on it cannot tell deployments apart"
                )
            name = asked.get(deployment.lower())
            if name is None:
                continue
            points = inside(one.points)
            if one.metric == REQUESTS:
                status = one.dimensions.get(STATUS_CLASS.lower())
                if status is None:
                    raise AzureTargetError(
                        f"Azure Monitor answered {REQUESTS} without its {STATUS_CLASS!r} dimension"
                    )
                statuses[name][status.lower()] += sum(points.values())
                for t, v in points.items():
                    minute_requests[name][t] += v
            else:
                per_metric[one.metric].setdefault(name, {}).update(points)
    for deployment, own in (per_deployment or {}).items():
        name = asked.get(deployment.lower(), deployment)
        for asked_names, answer in own:
            for one in series(answer, asked_names):
                # Azure Monitor averages the deployment's instances: one series per metric.
                per_metric[one.metric].setdefault(name, {}).update(inside(one.points))
    readings = {}
    for name in deployments:
        latency = {}
        for key, metric in LATENCY.items():
            minutes = per_metric.get(metric, {}).get(name)
            if minutes:
                latency[key] = _weighted(minutes, minute_requests[name])
        others = {}
        for metric in extra:
            if metric == REQUESTS:
                if minute_requests[name]:
                    others[metric] = sum(minute_requests[name].values()) / len(
                        minute_requests[name]
                    )
                continue
            minutes = per_metric.get(metric, {}).get(name)
            if minutes:
                others[metric] = (
                    _weighted(minutes, minute_requests[name])
                    if metric in LATENCY.values()
                    else sum(minutes.values()) / len(minutes)
                )
        readings[name] = Reading(
            name,
            statuses={k: round(v) for k, v in statuses[name].items() if round(v)},
            latency_ms=latency,
            metrics=others,
        )
    return readings


def _weighted(points: Mapping[datetime, float], weights: Mapping[datetime, float]) -> float:
    total = sum(weights.get(t, 0.0) for t in points)
    if total <= 0:
        return sum(points.values()) / len(points)
    return sum(v * weights.get(t, 0.0) for t, v in points.items()) / total


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
