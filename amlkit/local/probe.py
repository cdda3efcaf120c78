"""A sample request through each locally served endpoint, as `az ml online-endpoint
invoke --request-file` sends it: the file's bytes, POSTed as JSON to the scoring URI."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from .router import DEPLOYMENT_HEADER
from .serve import EndpointFront


@dataclass(frozen=True)
class ProbeResult:
    endpoint: str
    deployment: str
    """Who answered (the `azureml-model-deployment` header), or "" if no one did."""
    status: int
    """HTTP status, or 0 when the request failed outright."""
    latency_ms: float
    body: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def probe(fronts: Sequence[EndpointFront], body: bytes) -> list[ProbeResult]:
    """POST `body` to every front's /score, one after another."""
    results = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(310.0, connect=5.0)) as client:
        for front in fronts:
            started = time.perf_counter()
            try:
                response = await client.post(
                    front.scoring_uri,
                    content=body,
                    headers={"content-type": "application/json"},
                )
            except httpx.HTTPError as error:
                elapsed = (time.perf_counter() - started) * 1000
                results.append(ProbeResult(front.endpoint.name, "", 0, elapsed, repr(error)))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            results.append(
                ProbeResult(
                    front.endpoint.name,
                    response.headers.get(DEPLOYMENT_HEADER, ""),
                    response.status_code,
                    elapsed,
                    response.text,
                )
            )
    return results
