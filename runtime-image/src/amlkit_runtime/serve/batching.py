"""Micro-batching: concurrent requests gathered into one run() call. Off unless turned on.

A request is eligible when its body is a JSON object whose only key is the batch key
(`data` by default) holding a non-empty list of rows, and run() does not take
`request_headers` (those would differ between callers). Eligible requests are queued;
a gathered batch `{"data": [all rows]}` is handed to run() when
- a scoring thread is free, on the next event-loop turn (so a lone request waits for
  nothing: 1-connection latency stays that of a plain call), or
- the oldest queued request has waited `max_wait`, or
- the queue holds `max_rows` rows.
While run() is busy, requests keep gathering: the busier the worker, the larger the batch.

run()'s result must be a list (or array) with one item a row; each caller gets its own
slice. If it is anything else, batching is switched off for this worker (logged once)
and every request is scored alone. If the batched run() raises, each request of that
batch is scored alone, so only the faulty one gets the 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amlkit_runtime.serve.runner import Runner
from amlkit_runtime.serve.scoring import Mode, Rendered, ScoringScript, encode_json

logger = logging.getLogger("amlkit.serve")


@dataclass
class _Pending:
    rows: list[Any]
    future: asyncio.Future[tuple[Rendered, float] | None] = field(repr=False)


class MicroBatcher:
    """Gathers eligible requests of one worker into shared run() calls."""

    def __init__(
        self,
        script: ScoringScript,
        runner: Runner,
        *,
        key: str,
        max_rows: int,
        max_wait_s: float,
        threads: int,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._script = script
        self._runner = runner
        self._key = key
        self._max_rows = max_rows
        self._max_wait_s = max_wait_s
        self._threads = threads
        self._on_batch = on_batch
        self._pending: list[_Pending] = []
        self._pending_rows = 0
        self._running = 0
        self._timer: asyncio.TimerHandle | None = None
        self._soon: asyncio.Handle | None = None
        self.enabled = self.supported(script, key)

    @staticmethod
    def supported(script: ScoringScript, key: str) -> bool:
        """Whether this run() can take gathered rows at all."""
        if script.wants_headers or script.mode is Mode.RAWHTTP:
            return False
        if script.mode is Mode.SCHEMA:
            names = {p.name for p in script.parameters}
            return key in names and all(
                p.name == key or p.default is not p.empty for p in script.parameters
            )
        return True

    def rows_of(self, body: Any) -> list[Any] | None:
        """The rows of an eligible parsed body, else None (score it alone)."""
        if not self.enabled or not isinstance(body, dict) or len(body) != 1:
            return None
        rows = body.get(self._key)
        return rows if isinstance(rows, list) and rows else None

    def submit(self, rows: list[Any]) -> asyncio.Future[tuple[Rendered, float] | None]:
        """Queue rows; the future holds (answer, run ms), or None: score this request alone."""
        loop = asyncio.get_running_loop()
        entry = _Pending(rows, loop.create_future())
        self._pending.append(entry)
        self._pending_rows += len(rows)
        if self._pending_rows >= self._max_rows:
            self._flush()
        else:
            if self._soon is None and self._running < self._threads:
                self._soon = loop.call_soon(self._on_next_turn)
            if self._timer is None:
                self._timer = loop.call_later(self._max_wait_s, self._flush)
        return entry.future

    def _on_next_turn(self) -> None:
        self._soon = None
        if self._running < self._threads and self._pending:
            self._flush()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        while self._pending:
            batch: list[_Pending] = []
            rows: list[Any] = []
            while self._pending and (
                not rows or len(rows) + len(self._pending[0].rows) <= self._max_rows
            ):
                entry = self._pending.pop(0)
                batch.append(entry)
                rows.extend(entry.rows)
            self._pending_rows -= len(rows)
            self._start(batch, rows)

    def _start(self, batch: list[_Pending], rows: list[Any]) -> None:
        script, key = self._script, self._key
        if script.mode is Mode.RAW:
            arguments: dict[str, Any] = {script.data_parameter: encode_json({key: rows}).decode()}
        else:
            arguments = script.schema_arguments({key: rows})
        self._running += 1
        future = self._runner.submit(lambda: script.call(arguments, None))
        future.add_done_callback(lambda f: self._finished(f, batch, len(rows)))

    def _finished(
        self, future: asyncio.Future[tuple[Any, float]], batch: list[_Pending], total: int
    ) -> None:
        self._running -= 1
        if future.cancelled() or future.exception() is not None:
            self._resolve_alone(batch)
        else:
            result, run_ms = future.result()
            if self._on_batch is not None:
                self._on_batch(total, run_ms)
            if _is_row_list(result) and len(result) == total:
                start = 0
                for entry in batch:
                    end = start + len(entry.rows)
                    if not entry.future.done():
                        entry.future.set_result(
                            (Rendered(200, encode_json(result[start:end])), run_ms)
                        )
                    start = end
            else:
                if self.enabled:
                    logger.warning(
                        "micro-batching turned off: run() returned %s for %d gathered rows, "
                        "not a list of %d items; every request is now scored alone",
                        type(result).__name__,
                        total,
                        total,
                    )
                self.enabled = False
                self._resolve_alone(batch)
        if self._pending and self._running < self._threads:
            self._flush()

    @staticmethod
    def _resolve_alone(batch: list[_Pending]) -> None:
        for entry in batch:
            if not entry.future.done():
                entry.future.set_result(None)


def _is_row_list(result: Any) -> bool:
    if isinstance(result, list | tuple):
        return True
    shape = getattr(result, "shape", None)  # a numpy array with one item a row
    return isinstance(shape, tuple) and len(shape) >= 1 and hasattr(result, "__getitem__")
