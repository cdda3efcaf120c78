"""The bookkeeping amlkit-serve keeps cheap: metrics gathered in-process and written in
one go must give prometheus_client's exact numbers; generated request ids are version 4
UUIDs."""

from __future__ import annotations

import uuid

import prometheus_client as prom
from amlkit_runtime.serve.metrics import LATENCY_BUCKETS, _Pending
from amlkit_runtime.serve.request_ids import new_request_id


def _samples(registry: prom.CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels.get("le", "")): sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def test_gathered_observations_give_the_same_histogram_as_observe() -> None:
    # Bucket edges (<= goes to the lower bucket), values between, above the last bound, zero.
    values = [0.0, 0.0005, 0.0006, 0.001, 0.0049, 0.005, 0.3, 59.9, 60.0, 61.0, 1e9, 0.0006]
    direct_registry, gathered_registry = prom.CollectorRegistry(), prom.CollectorRegistry()
    direct = prom.Histogram("latency", "", buckets=LATENCY_BUCKETS, registry=direct_registry)
    gathered = prom.Histogram("latency", "", buckets=LATENCY_BUCKETS, registry=gathered_registry)
    for value in values:
        direct.observe(value)
    pending = _Pending(LATENCY_BUCKETS)
    for value in values[:5]:
        pending.observe(value)
    pending.write_to(gathered)
    for value in values[5:]:  # a second flush adds to the first
        pending.observe(value)
    pending.write_to(gathered)
    assert not pending.dirty and sum(pending.counts) == 0
    expected = _samples(direct_registry)
    assert expected[("latency_count", "")] == len(values)
    assert expected[("latency_bucket", "0.0005")] == 2  # 0.0 and 0.0005 (cumulative)
    assert _samples(gathered_registry) == expected


def test_generated_request_ids_are_distinct_uuid4() -> None:
    ids = [new_request_id() for _ in range(600)]  # more than one pool of 256
    assert len(set(ids)) == len(ids)
    for raw in ids:
        parsed = uuid.UUID(raw.decode())
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed).encode() == raw
