"""A rollout against an online endpoint on Azure: the split through ARM, readings
from Azure Monitor, smoke requests to the endpoint's scoring URI.

- Traffic: the same provider and `OnlineTraffic` setting the stack's traffic
  resource uses (`components/dynamic`): GET the endpoint, PUT it back with the new
  `traffic`/`mirrorTraffic`, wait on ARM's operation, GET again and fail unless
  Azure holds the split. `check` refuses a split Azure would refuse before it is sent.
- Readings: Azure Monitor's metrics API (azure-mgmt-monitor's `metrics.list`, API
  2024-02-01) on the endpoint's ARM id, one-minute grain. Azure ML's documented
  endpoint metrics: `RequestsPerMinute` (dimensions `deployment`, `statusCode`,
  `statusCodeClass`, `modelStatusCode`) and `RequestLatency_P50/P90/P95/P99`
  (milliseconds, dimension `deployment`); any other metric a gate names is read
  split by `deployment` too. How a window's minutes are combined: `read_window`.
- Smoke: a POST to the endpoint's `scoringUri` with the `azureml-model-deployment`
  header, authorised as the endpoint's `auth_mode` asks: a key (`listKeys`), an
  Azure ML token (`token`) or a Microsoft Entra token for `https://ml.azure.com`.

Who may do this: Monitoring Reader on the endpoint (metrics), and an Azure ML role
that may write online endpoints and read their keys (AzureML Data Scientist or a
custom role with `.../onlineEndpoints/write`, `.../onlineEndpoints/listKeys/action`,
`.../onlineEndpoints/token/action`).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.pipeline.policies import HeadersPolicy, UserAgentPolicy
from azure.core.rest import HttpRequest

from amlkit.components.dynamic.arm_client import PUBLIC_CLOUD, ArmClient, ArmError
from amlkit.components.dynamic.endpoint_setting import (
    ARM_ENDPOINT_VARIABLE,
    EndpointSettingProvider,
    default_credential,
)
from amlkit.components.dynamic.online_traffic import OnlineTraffic
from amlkit.specs.naming import Names
from amlkit.specs.stack import StackSpec

from .sources import LATENCY_PERCENTILES, Reading, RolloutError, Split, Target, Window

SUBSCRIPTION_VARIABLES = ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID")
"""Where the subscription comes from when not given (azure-native reads the first)."""

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
ML_SCOPE = "https://ml.azure.com/.default"
"""The audience of Microsoft Entra tokens an `aad_token` endpoint accepts."""


class AzureTargetError(RolloutError):
    """Azure answered something a rollout cannot go on with; the message says what.

    A RolloutError: mid-rollout, the engine treats it as a failed gate and writes the
    pre-rollout split back (`on_failure: rollback`); when that write fails too, the state
    file stays `running` and `amlkit rollout abort` takes over once Azure answers again."""


@dataclass(frozen=True)
class AzureEndpoint:
    """Which endpoint: its subscription, resource group, workspace and name."""

    subscription_id: str
    resource_group: str
    workspace: str
    name: str
    kind: Literal["managed", "kubernetes"] = "managed"
    auth_mode: Literal["key", "aml_token", "aad_token"] = "key"

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace}"
        )

    @property
    def id(self) -> str:
        return f"{self.workspace_id}/onlineEndpoints/{self.name}"

    @classmethod
    def of(cls, stack: StackSpec, endpoint: str, subscription_id: str) -> AzureEndpoint:
        """The stack's endpoint, with the physical names the stack program gives it."""
        spec = next((e for e in stack.online_endpoints if e.name == endpoint), None)
        if spec is None:
            known = ", ".join(e.name for e in stack.online_endpoints) or "none"
            raise AzureTargetError(
                f"online endpoint {endpoint!r} is not in the stack (its online endpoints: {known})"
            )
        names = Names(stack.environment)
        return cls(
            subscription_id,
            names.resource_group(),
            stack.workspace.name or names.workspace(),
            spec.name,
            spec.kind,
            spec.auth_mode,
        )


def connect(
    stack: StackSpec,
    endpoint: str,
    *,
    subscription_id: str | None = None,
    credential: TokenCredential | None = None,
    arm_endpoint: str | None = None,
    metrics_lag: timedelta = timedelta(minutes=3),
) -> Target:
    """A rollout target for the stack's online endpoint `endpoint` on Azure.

    `subscription_id`: default $ARM_SUBSCRIPTION_ID, else $AZURE_SUBSCRIPTION_ID (the
    stack spec does not hold it; azure-native reads the same variable).
    `credential`: default azure-identity's DefaultAzureCredential.
    `arm_endpoint`: default $AMLKIT_ARM_ENDPOINT, else public Azure; Azure Monitor's
    metrics API is served by ARM, so the same base URL serves both.
    `metrics_lag`: how late Azure Monitor's minutes are complete (the spec's
    `metrics_lag`); default 3 minutes, Azure Monitor's usual ingestion delay."""
    subscription = subscription_id or next(
        (os.environ[v] for v in SUBSCRIPTION_VARIABLES if os.environ.get(v)), None
    )
    if not subscription:
        raise AzureTargetError(
            "no Azure subscription: set ARM_SUBSCRIPTION_ID (as for azure-native) or "
            "AZURE_SUBSCRIPTION_ID"
        )
    where = AzureEndpoint.of(stack, endpoint, subscription)
    return connect_endpoint(
        where, credential=credential, arm_endpoint=arm_endpoint, metrics_lag=metrics_lag
    )


def connect_endpoint(
    endpoint: AzureEndpoint,
    *,
    credential: TokenCredential | None = None,
    arm_endpoint: str | None = None,
    metrics_lag: timedelta = timedelta(minutes=3),
) -> Target:
    """`connect` for an endpoint named outright (defaults as there)."""
    token = credential or default_credential()
    base_url = (arm_endpoint or os.environ.get(ARM_ENDPOINT_VARIABLE) or PUBLIC_CLOUD).rstrip("/")
    arm = ArmClient(token, base_url)
    return Target(
        traffic=ArmTraffic(endpoint, token, base_url),
        metrics=MonitorMetrics(endpoint, token, base_url, metrics_lag),
        prober=EndpointProber(endpoint, arm, token),
        where=f"azure {endpoint.id}",
    )


# ----- traffic ---------------------------------------------------------------


class ArmTraffic:
    """The endpoint's split, read and written by the traffic resource's own provider."""

    def __init__(self, endpoint: AzureEndpoint, credential: TokenCredential, base_url: str):
        self.endpoint = endpoint
        self._provider = EndpointSettingProvider(OnlineTraffic(), base_url, lambda: credential)
        self._props: dict[str, Any] = {
            "workspaceId": endpoint.workspace_id,
            "endpointName": endpoint.name,
            "endpointKind": endpoint.kind,
        }

    def read_split(self) -> Split:
        try:
            read = self._provider.read(self.endpoint.id, dict(self._props))
        except (ArmError, AzureError) as error:
            raise AzureTargetError(f"reading the split of {self.endpoint.name}: {error}") from None
        if read.id is None:
            raise AzureTargetError(f"online endpoint {self.endpoint.id} does not exist")
        outs = read.outs or {}
        return Split(dict(outs["liveTraffic"]), dict(outs["liveMirrorTraffic"]))

    def write_split(self, split: Split) -> None:
        """Live traffic of deployments the split leaves out is written as 0, as `az ml`
        writes it; the mirror is written as the split has it (a PUT replaces it whole:
        a mirror entry of 0 beside live traffic is one Azure's rule refuses)."""
        held = self.read_split()
        names = sorted({*held.traffic, *held.mirror, *split.traffic, *split.mirror})
        news = {
            **self._props,
            # Existence is Azure's to check: the provider checks the split's own rules.
            "deployments": names,
            "traffic": {**{n: 0 for n in held.traffic}, **split.traffic},
            "mirrorTraffic": {n: v for n, v in split.mirror.items() if v},
        }
        checked = self._provider.check({}, news)
        if checked.failures:
            problems = "; ".join(f.reason for f in checked.failures)
            raise AzureTargetError(f"split {dict(split.traffic)} refused: {problems}")
        try:
            self._provider.update(self.endpoint.id, {}, dict(checked.inputs or news))
        except (ArmError, AzureError) as error:
            raise AzureTargetError(f"writing the split of {self.endpoint.name}: {error}") from None


# ----- smoke requests --------------------------------------------------------


class EndpointProber:
    """POSTs to the endpoint's scoring URI, aimed at one deployment by header."""

    def __init__(self, endpoint: AzureEndpoint, arm: ArmClient, credential: TokenCredential):
        self.endpoint = endpoint
        self._arm = arm
        self._credential = credential
        self._scoring: tuple[str, str] | None = None

    def send(self, deployment: str, body: bytes, count: int) -> list[int]:
        uri, authorization = self._scoring or self._resolve()
        # No retry policy: a retried request would hide the failure the smoke phase counts.
        client: PipelineClient[HttpRequest, Any] = PipelineClient(
            base_url=uri,
            policies=[
                HeadersPolicy(
                    {
                        "Authorization": authorization,
                        "Content-Type": "application/json",
                        "azureml-model-deployment": deployment,
                    }
                ),
                UserAgentPolicy(sdk_moniker="amlkit-rollout"),
            ],
        )
        statuses = []
        with client:
            for _ in range(count):
                try:
                    response = client.send_request(HttpRequest("POST", uri, content=body))
                    statuses.append(response.status_code)
                except AzureError:
                    statuses.append(0)
        return statuses

    def _resolve(self) -> tuple[str, str]:
        try:
            held = self._arm.get(self.endpoint.id)
            if held is None:
                raise AzureTargetError(f"online endpoint {self.endpoint.id} does not exist")
            uri = (held.get("properties") or {}).get("scoringUri")
            if not uri:
                raise AzureTargetError(
                    f"online endpoint {self.endpoint.name} has no scoringUri yet (still being "
                    "created?)"
                )
            self._scoring = (uri, f"Bearer {self._secret()}")
        except ArmError as error:
            raise AzureTargetError(f"smoke requests to {self.endpoint.name}: {error}") from None
        return self._scoring

    def _secret(self) -> str:
        if self.endpoint.auth_mode == "key":
            key = self._arm.post(f"{self.endpoint.id}/listKeys").get("primaryKey")
        elif self.endpoint.auth_mode == "aml_token":
            key = self._arm.post(f"{self.endpoint.id}/token").get("accessToken")
        else:
            key = self._credential.get_token(ML_SCOPE).token
        if not key:
            raise AzureTargetError(
                f"online endpoint {self.endpoint.name}: Azure gave no {self.endpoint.auth_mode} "
                "credential for its scoring URI"
            )
        return str(key)


# ----- readings --------------------------------------------------------------


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
