"""Prometheus metrics of the scoring server, summed over every worker process.

prometheus-client's multiprocess mode: each worker writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (the supervisor makes a fresh folder unless one is given)
and a scrape of `GET /metrics` on any worker reads them all. The variable must be
set before prometheus_client is imported, hence the late import.
"""

from __future__ import annotations

import os
from typing import Any

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Request counts by route and status, scoring errors, latency histograms, requests in progress."""

    def __init__(self, deployment: str) -> None:
        import prometheus_client as prom

        self._prom = prom
        labels = {"deployment": deployment or "default"}
        self.requests = prom.Counter(
            "amlkit_requests", "HTTP requests answered, by route and status.", ["deployment", "route", "status"]
        )
        self.run_errors = prom.Counter(
            "amlkit_run_errors", "run() calls that raised or timed out.", ["deployment", "kind"]
        )
        self.latency = prom.Histogram(
            "amlkit_request_duration_seconds",
            "Time from request to answer, by route.",
            ["deployment", "route"],
            buckets=LATENCY_BUCKETS,
        )
        self.run_latency = prom.Histogram(
            "amlkit_run_duration_seconds", "Time spent inside run().", ["deployment"], buckets=LATENCY_BUCKETS
        ).labels(**labels)
        self.batch_rows = prom.Histogram(
            "amlkit_microbatch_rows",
            "Rows in one gathered run() call (micro-batching).",
            ["deployment"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
        ).labels(**labels)
        self.in_progress = prom.Gauge(
            "amlkit_requests_in_progress",
            "/score requests being handled.",
            ["deployment"],
            multiprocess_mode="livesum",
        ).labels(**labels)
        self._deployment = labels["deployment"]
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (route, status)
        child = self._children.get(key)
        if child is None:
            child = (
                self.requests.labels(self._deployment, route, str(status)),
                self.latency.labels(self._deployment, route),
            )
            self._children[key] = child
        child[0].inc()
        child[1].observe(seconds)

    def run_error(self, kind: str) -> None:
        """Count a run() that raised ("exception") or ran out of time ("timeout")."""
        self.run_errors.labels(self._deployment, kind).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text a scrape gets, gathered from every worker's files."""
        prom = self._prom
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST
        return prom.generate_latest(), prom.CONTENT_TYPE_LATEST


def mark_worker_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay, as they should)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
