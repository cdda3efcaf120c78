"""The bookkeeping amlkit-serve keeps cheap: metrics gathered in-process and written in
one go must give prometheus_client's exact numbers; generated request ids are version 4
UUIDs."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import prometheus_client as prom
import pytest
import uvicorn
from amlkit_runtime.serve.metrics import LATENCY_BUCKETS, _Pending
from amlkit_runtime.serve.protocol import HEAD_PIECE, HttpProtocol
from amlkit_runtime.serve.request_ids import new_request_id
from uvicorn.server import ServerState


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


class _Transport(asyncio.Transport):
    """A connection's transport that keeps what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[bytes] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.out.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _CountingLoop:
    """The running loop, counting the read-deadline timers the protocol arms."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.deadlines = 0

    def call_later(self, delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        if getattr(callback, "__name__", "") == "_read_timed_out":
            self.deadlines += 1
        return self._loop.call_later(delay, callback, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)


async def _echo_length(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


@pytest.mark.parametrize(
    ("split", "deadlines"),
    [
        (None, 0),  # head and a body larger than a parsing piece in one read: no deadline
        (HEAD_PIECE + 100, 1),  # the body's rest comes in a second read: one deadline
        (20, 1),  # the head comes in two reads: one deadline
    ],
)
def test_a_request_in_one_read_arms_no_read_deadline(split: int | None, deadlines: int) -> None:
    async def scenario() -> tuple[int, bytes, bool]:
        config = uvicorn.Config(
            _echo_length, http=HttpProtocol, lifespan="off", log_level="warning"
        )
        config.load()
        loop = asyncio.get_running_loop()
        protocol = HttpProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
        transport = _Transport()
        protocol.connection_made(transport)
        counting = _CountingLoop(loop)
        protocol.loop = counting  # type: ignore[assignment]
        body = b"7" * (2 * HEAD_PIECE + 5)
        request = (
            b"POST /score HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        for piece in [request] if split is None else [request[:split], request[split:]]:
            protocol.data_received(piece)
        for _ in range(20):
            await asyncio.sleep(0)
        armed = protocol._read_timer is not None
        protocol.connection_lost(None)
        return counting.deadlines, b"".join(transport.out), armed

    armed_count, answer, still_armed = asyncio.run(scenario())
    assert armed_count == deadlines
    assert not still_armed  # the complete request cancelled any deadline
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(str(2 * HEAD_PIECE + 5).encode() + b"\r\n0\r\n\r\n")
