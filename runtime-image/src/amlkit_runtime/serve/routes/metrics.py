"""`GET /metrics`: Prometheus text over all workers (amlkit's; azmlinfsrv has none)."""

from __future__ import annotations

from amlkit_runtime.serve.answers import answer
from amlkit_runtime.serve.asgi import Headers, Send
from amlkit_runtime.serve.metrics import Metrics


async def metrics_route(send: Send, headers: Headers, metrics: Metrics) -> int:
    """Answer with the exposition of every worker's metrics."""
    body, content_type = metrics.exposition()
    return await answer(send, 200, body, headers, content_type.encode())
