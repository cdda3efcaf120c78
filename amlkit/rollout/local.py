"""A rollout in local mode, for real: the split on the running local router, readings from
each deployment's amlkit-serve `/metrics`.

`connect(front_url)` takes the endpoint's front as `amlkit local serve` prints it
(`http://127.0.0.1:8080`, with or without `/score`). The split is read and written
through the front's control route (`GET/PUT /.amlkit/traffic`, local/router.py), which
also names each deployment's amlkit-serve URL.

Readings: amlkit-serve's counters are totals since it started, so the source keeps a
scrape of every deployment whenever the split is written and whenever a window is read
(a window starts at a write, or where the last one read ended); a window's reading is
the difference between the scrape nearest its start and a scrape at its end (counters
`amlkit_requests_total` by status, and the `amlkit_request_duration_seconds` histogram,
of the `/score` route). Latency
percentiles are interpolated within the histogram's buckets as Prometheus'
`histogram_quantile` does. A deployment that restarted in the window (a counter went
down) is read from zero. Metrics lag: none.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from amlkit.local.router import CONTROL_PATH, DEPLOYMENT_HEADER

from .sources import LATENCY_PERCENTILES, Reading, RolloutError, Split, Target, Window

SCORE_ROUTE = "/score"
TIMEOUT_S = 30.0


def connect(front_url: str, *, timeout_s: float = TIMEOUT_S) -> Target:
    """The local endpoint served at `front_url`. Raises RolloutError when nothing answers
    there or it is not an amlkit local front."""
    base = front_url.rstrip("/").removesuffix("/score")
    client = httpx.Client(timeout=timeout_s)
    try:
        answer = client.get(base + CONTROL_PATH)
        control = answer.json()
        deployments = dict(control["deployments"])
    except httpx.HTTPError as error:
        raise RolloutError(f"--local {front_url}: nothing answers there ({error})") from None
    except (ValueError, KeyError, TypeError):
        raise RolloutError(
            f"--local {front_url}: not an amlkit local endpoint front (no {CONTROL_PATH}); "
            "start it with `amlkit local serve`"
        ) from None
    traffic = LocalTraffic(client, base)
    metrics = LocalMetrics(client, deployments)
    traffic.on_write = metrics.snapshot
    return Target(
        traffic=traffic,
        metrics=metrics,
        prober=LocalProber(client, base),
        where=f"local {base}",
    )


class LocalTraffic:
    """The split on the local router's control route."""

    def __init__(self, client: httpx.Client, base: str) -> None:
        self.client = client
        self.url = base + CONTROL_PATH
        self.on_write: Any = None

    def read_split(self) -> Split:
        data = self._call("GET")
        return Split(dict(data["traffic"]), dict(data["mirror_traffic"]))

    def write_split(self, split: Split) -> None:
        body = {"traffic": dict(split.traffic), "mirror_traffic": dict(split.mirror)}
        self._call("PUT", body)
        if self.on_write is not None:
            self.on_write()

    def _call(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The control route's answer; a RolloutError when the front is gone or refuses
        (mid-walk, the engine then rolls back as for a failed gate)."""
        try:
            answer = self.client.request(method, self.url, json=body)
        except httpx.HTTPError as error:
            raise RolloutError(
                f"{method} {self.url}: the front does not answer ({error})"
            ) from None
        if answer.status_code != 200:
            raise RolloutError(f"{self.url}: {answer.status_code} {answer.text}")
        data: dict[str, Any] = answer.json()
        return data


class LocalProber:
    """Requests straight to one deployment through the front, with the deployment header."""

    def __init__(self, client: httpx.Client, base: str) -> None:
        self.client = client
        self.url = base + SCORE_ROUTE

    def send(self, deployment: str, body: bytes, count: int) -> list[int]:
        statuses = []
        headers = {DEPLOYMENT_HEADER: deployment, "content-type": "application/json"}
        for _ in range(count):
            try:
                statuses.append(
                    self.client.post(self.url, content=body, headers=headers).status_code
                )
            except httpx.HTTPError:
                statuses.append(0)
        return statuses


@dataclass
class _Scrape:
    at: datetime
    requests: dict[str, float] = field(default_factory=dict)
    """status code -> answers of the /score route."""
    buckets: dict[float, float] = field(default_factory=dict)
    """upper bound (seconds) -> cumulative count of /score answers."""


class LocalMetrics:
    """Readings from each deployment's amlkit-serve `/metrics`."""

    lag = timedelta(0)

    def __init__(self, client: httpx.Client, deployments: Mapping[str, str]) -> None:
        self.client = client
        self.deployments = dict(deployments)
        self._scrapes: dict[str, list[_Scrape]] = {name: [] for name in deployments}
        self._lock = threading.Lock()

    def snapshot(self) -> None:
        """Scrape every deployment now (the split changed: a window may start)."""
        for name in self.deployments:
            self._scrape(name)

    def _scrape(self, name: str) -> _Scrape | None:
        try:
            answer = self.client.get(self.deployments[name] + "/metrics")
            answer.raise_for_status()
        except httpx.HTTPError:
            return None  # it stopped: its window reads as what was scraped before
        scrape = parse_metrics(answer.text, datetime.now(UTC))
        with self._lock:
            self._scrapes[name].append(scrape)
        return scrape

    def read(
        self, deployments: Sequence[str], window: Window, metrics: Sequence[str] = ()
    ) -> dict[str, Reading]:
        out = {}
        for name in deployments:
            if name not in self.deployments:
                out[name] = Reading(name)  # not served locally: no data
                continue
            end = self._scrape(name)
            with self._lock:
                scrapes = list(self._scrapes[name])
            earlier = [s for s in scrapes if s is not end]
            start = min(earlier, key=lambda s: abs(s.at - window.start), default=None)
            if end is None or start is None:
                out[name] = Reading(name)
                continue
            out[name] = difference(name, start, end, window, metrics)
        return out


def parse_metrics(text: str, at: datetime) -> _Scrape:
    """The `/score` counters of one amlkit-serve exposition."""
    scrape = _Scrape(at)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("route") != SCORE_ROUTE:
                continue
            if sample.name == "amlkit_requests_total":
                status = sample.labels["status"]
                scrape.requests[status] = scrape.requests.get(status, 0.0) + sample.value
            elif sample.name == "amlkit_request_duration_seconds_bucket":
                bound = float(sample.labels["le"])
                scrape.buckets[bound] = scrape.buckets.get(bound, 0.0) + sample.value
    return scrape


def difference(
    name: str, start: _Scrape, end: _Scrape, window: Window, metrics: Sequence[str] = ()
) -> Reading:
    """The reading between two scrapes (from zero when a counter went down: a restart)."""
    restarted = any(end.requests.get(k, 0.0) < v for k, v in start.requests.items())
    base = _Scrape(start.at) if restarted else start
    statuses: dict[str, int] = {}
    for status, total in end.requests.items():
        count = int(total - base.requests.get(status, 0.0))
        if count > 0:
            key = f"{status[0]}xx" if status[:1].isdigit() else status
            statuses[key] = statuses.get(key, 0) + count
    buckets = sorted(
        (bound, total - base.buckets.get(bound, 0.0)) for bound, total in end.buckets.items()
    )
    latency = {
        p: q * 1000.0
        for p in LATENCY_PERCENTILES
        if (q := histogram_quantile(int(p[1:]) / 100, buckets)) is not None
    }
    extra: dict[str, float] = {}
    minutes = (window.end - window.start).total_seconds() / 60
    for metric in metrics:
        if metric == "RequestsPerMinute" and minutes > 0:
            extra[metric] = sum(statuses.values()) / minutes
        elif metric.startswith("RequestLatency_P"):
            value = latency.get("p" + metric.removeprefix("RequestLatency_P"))
            if value is not None:
                extra[metric] = value
    return Reading(name, statuses, latency, extra)


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' `histogram_quantile` over cumulative (upper bound, count) buckets sorted
    by bound: linear interpolation within the bucket the rank falls in; the highest finite
    bound when it falls in +Inf; None without observations."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound
