"""Prometheus metrics of the scoring server, summed over every worker process.

prometheus-client's multiprocess mode: each worker writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (the supervisor makes a fresh folder unless one is given)
and a scrape of `GET /metrics` on any worker reads them all. The variable must be
set before prometheus_client is imported, hence the late import.

Each update of a multiprocess value is a lock, a pid check and a write into a shared
mmap; at a few thousand requests a second, the seven updates of a request cost more
than the rest of the request's bookkeeping. So a worker counts in plain Python and
writes the totals to its files in one go (`flush`): on the event loop's next turn
when the worker has no /score request in progress (a lone request is in the files
before its client can ask for /metrics), else at most `FLUSH_INTERVAL_S` later; and
always before this worker answers a scrape and at shutdown. Trade-off: under load, a
scrape served by one worker can miss up to `FLUSH_INTERVAL_S` of another worker's
requests; they appear in the next scrape (lost only if the worker is killed outright).
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from typing import Any

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
FLUSH_INTERVAL_S = 0.1


class _Pending:
    """Observations of one histogram child not yet written: per-bucket counts and their sum."""

    __slots__ = ("bounds", "counts", "dirty", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0
        self.dirty = False

    def observe(self, value: float) -> None:
        # prometheus_client's rule: the first bucket whose upper bound is >= value.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.dirty = True

    def write_to(self, child: Any) -> None:
        # Histogram children keep one (non-cumulative) value a bucket and a sum;
        # adding to them is what `observe()` does, once per observation.
        for index, count in enumerate(self.counts):
            if count:
                child._buckets[index].inc(count)
                self.counts[index] = 0
        child._sum.inc(self.total)
        self.total = 0.0
        self.dirty = False


class Metrics:
    """Request counts by route and status, scoring errors, latency histograms, requests in progress."""

    def __init__(self, deployment: str) -> None:
        import prometheus_client as prom

        self._prom = prom
        labels = {"deployment": deployment or "default"}
        self.requests = prom.Counter(
            "amlkit_requests",
            "HTTP requests answered, by route and status.",
            ["deployment", "route", "status"],
        )
        self.run_errors = prom.Counter(
            "amlkit_run_errors",
            "run() calls that raised (kind exception, or bad_json: on a body declared JSON that is not) or timed out.",
            ["deployment", "kind"],
        )
        self.latency = prom.Histogram(
            "amlkit_request_duration_seconds",
            "Time from request to answer, by route.",
            ["deployment", "route"],
            buckets=LATENCY_BUCKETS,
        )
        self._run_latency = prom.Histogram(
            "amlkit_run_duration_seconds",
            "Time spent inside run().",
            ["deployment"],
            buckets=LATENCY_BUCKETS,
        ).labels(**labels)
        self._batch_rows = prom.Histogram(
            "amlkit_microbatch_rows",
            "Rows in one gathered run() call (micro-batching).",
            ["deployment"],
            buckets=BATCH_BUCKETS,
        ).labels(**labels)
        self._in_progress_gauge = prom.Gauge(
            "amlkit_requests_in_progress",
            "/score requests being handled.",
            ["deployment"],
            multiprocess_mode="livesum",
        ).labels(**labels)
        self._deployment = labels["deployment"]
        # Not yet written to the multiprocess files:
        self._requests: dict[tuple[str, int], int] = {}
        self._latency: dict[str, _Pending] = {}
        self._run_pending = _Pending(LATENCY_BUCKETS)
        self._batch_pending = _Pending(tuple(float(b) for b in BATCH_BUCKETS))
        self.in_progress = 0
        self._written_in_progress = 0
        self._scheduled: asyncio.Handle | asyncio.TimerHandle | None = None
        self._scheduled_soon = False

    # -- counting (on the event loop) ------------------------------------------------

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        pending = self._latency.get(route)
        if pending is None:
            pending = self._latency[route] = _Pending(LATENCY_BUCKETS)
        pending.observe(seconds)
        self._schedule()

    def observe_run(self, seconds: float) -> None:
        """Time spent inside one run() call."""
        self._run_pending.observe(seconds)

    def observe_batch(self, rows: int) -> None:
        """Rows of one gathered run() call."""
        self._batch_pending.observe(rows)
        self._schedule()

    def started(self) -> None:
        """A /score request is in progress."""
        self.in_progress += 1
        self._schedule()

    def finished(self) -> None:
        """A /score request is over."""
        self.in_progress -= 1
        self._schedule()

    def run_error(self, kind: str) -> None:
        """Count a run() that raised ("exception") or ran out of time ("timeout"); written at once."""
        self.run_errors.labels(self._deployment, kind).inc()

    def _schedule(self) -> None:
        idle = self.in_progress == 0
        if self._scheduled is not None and (self._scheduled_soon or not idle):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on a loop (a direct call): write now
            self.flush()
            return
        if self._scheduled is not None:
            self._scheduled.cancel()
        self._scheduled_soon = idle
        self._scheduled = (
            loop.call_soon(self.flush) if idle else loop.call_later(FLUSH_INTERVAL_S, self.flush)
        )

    # -- writing -------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what was counted since the last flush to this worker's multiprocess files."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        for (route, status), count in self._requests.items():
            self.requests.labels(self._deployment, route, str(status)).inc(count)
        self._requests.clear()
        for route, pending in self._latency.items():
            if pending.dirty:
                pending.write_to(self.latency.labels(self._deployment, route))
        if self._run_pending.dirty:
            self._run_pending.write_to(self._run_latency)
        if self._batch_pending.dirty:
            self._batch_pending.write_to(self._batch_rows)
        if self.in_progress != self._written_in_progress:
            self._in_progress_gauge.set(self.in_progress)
            self._written_in_progress = self.in_progress

    def exposition(self) -> tuple[bytes, str]:
        """The text a scrape gets, gathered from every worker's files."""
        self.flush()
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
