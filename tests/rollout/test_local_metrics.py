"""Readings from amlkit-serve's exposition: the text prometheus-client writes (the same
metric names and labels as runtime-image's serve/metrics.py), differenced between two
scrapes, and percentiles as Prometheus' histogram_quantile computes them; the control
route's client when the front is gone."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
import prometheus_client as prom
import pytest
from amlkit_runtime.serve.metrics import LATENCY_BUCKETS

from amlkit.rollout.local import LocalTraffic, difference, histogram_quantile, parse_metrics
from amlkit.rollout.sources import RolloutError, Split, Window

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class Server:
    """The counters amlkit-serve keeps, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = prom.CollectorRegistry()
        self.requests = prom.Counter(
            "amlkit_requests", "", ["deployment", "route", "status"], registry=self.registry
        )
        self.latency = prom.Histogram(
            "amlkit_request_duration_seconds",
            "",
            ["deployment", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def answer(self, status: int, seconds: float, route: str = "/score", n: int = 1) -> None:
        for _ in range(n):
            self.requests.labels("green", route, str(status)).inc()
            self.latency.labels("green", route).observe(seconds)

    def text(self) -> str:
        return prom.generate_latest(self.registry).decode()


def test_a_window_is_the_difference_of_two_scrapes() -> None:
    server = Server()
    server.answer(200, 0.02, n=50)  # before the window: not counted
    server.answer(500, 0.02, n=5)
    start = parse_metrics(server.text(), T0)
    server.answer(200, 0.004, n=80)
    server.answer(503, 0.3, n=20)
    server.answer(404, 0.001, n=10)
    server.answer(200, 0.001, route="/liveness", n=100)  # probes are not traffic
    end = parse_metrics(server.text(), T0 + timedelta(minutes=2))

    window = Window(T0, T0 + timedelta(minutes=2))
    reading = difference("green", start, end, window, ["RequestsPerMinute", "RequestLatency_P50"])
    assert reading.statuses == {"2xx": 80, "5xx": 20, "4xx": 10}
    assert reading.error_rate == pytest.approx(20 / 110)
    # p50: rank 55 of 110 falls in (0.0025, 0.005], which holds answers 11..90.
    assert reading.latency_ms["p50"] == pytest.approx((0.0025 + 0.0025 * (55 - 10) / 80) * 1000)
    # p99: rank 108.9 falls in (0.25, 0.5], the 20 slow ones.
    assert reading.latency_ms["p99"] == pytest.approx((0.25 + 0.25 * (108.9 - 90) / 20) * 1000)
    assert reading.metrics == {
        "RequestsPerMinute": 55.0,
        "RequestLatency_P50": reading.latency_ms["p50"],
    }


def test_a_restarted_server_is_read_from_zero() -> None:
    before = Server()
    before.answer(200, 0.01, n=100)
    start = parse_metrics(before.text(), T0)
    after = Server()  # a new process: counters start again
    after.answer(200, 0.01, n=7)
    end = parse_metrics(after.text(), T0 + timedelta(minutes=1))
    reading = difference("green", start, end, Window(T0, T0 + timedelta(minutes=1)))
    assert reading.statuses == {"2xx": 7}


def test_histogram_quantile_edges() -> None:
    assert histogram_quantile(0.5, []) is None
    assert histogram_quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
    # Everything above the highest finite bound: that bound, as Prometheus answers.
    assert histogram_quantile(0.99, [(0.1, 0.0), (1.0, 0.0), (float("inf"), 4.0)]) == 1.0
    # The first bucket interpolates from 0.
    assert histogram_quantile(0.5, [(0.1, 10.0), (float("inf"), 10.0)]) == pytest.approx(0.05)


def test_a_front_that_is_gone_is_a_rollout_error() -> None:
    # Mid-walk the engine rolls back on a RolloutError; an httpx error would escape it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with httpx.Client(timeout=5) as client:
            traffic = LocalTraffic(client, f"http://127.0.0.1:{port}")
            with pytest.raises(RolloutError, match=r"PUT http://127\.0\.0\.1:\d+/\.amlkit/"):
                traffic.write_split(Split({"blue": 100}))
            with pytest.raises(RolloutError, match="the front does not answer"):
                traffic.read_split()
