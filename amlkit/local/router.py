"""The front of a locally served online endpoint: Azure's routing rules over loopback.

On Azure an endpoint's scoring URI routes each request to a deployment:
- a request with the `azureml-model-deployment` header goes to that deployment,
  whatever its traffic share (how a 0% green deployment is tested);
- any other request goes to a deployment drawn by the endpoint's `traffic` weights,
  and, for `mirror_traffic`, a copy goes to the mirror deployment too, whose answer
  is dropped;
- the answer carries `azureml-model-deployment`, naming who served it.

This ASGI app does the same in front of the deployments' amlkit-serve processes.
Answers of its own, as JSON `{"error": ...}`: 404 for a deployment the endpoint does
not have, or when no deployment takes live traffic and none is named; 503 for a
deployment that local mode does not run (with the reason); 502 when the
deployment's server cannot be reached (it stopped: see its log). Auth is not
checked locally.

The split can be changed while serving, as `amlkit rollout --local` does, through a
control route on the front (loopback clients only; the fronts listen on 127.0.0.1):
- `GET /.amlkit/traffic`: `{"endpoint", "traffic", "mirror_traffic", "deployments"}`,
  the live split and each served deployment's amlkit-serve URL (for its `/metrics`);
- `PUT /.amlkit/traffic` with `{"traffic": {...}, "mirror_traffic": {...}}`: the new
  split, checked by Azure's rules (`check_traffic`; deployments left out get 0), live for
  the next request once answered 200; 400 with the reason when refused.
A request in flight keeps the deployment it was routed to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from amlkit.specs.online_endpoint import check_traffic

from .layout import LocalEndpoint

DEPLOYMENT_HEADER = "azureml-model-deployment"
CONTROL_PATH = "/.amlkit/traffic"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# Hop-by-hop headers (RFC 9110 §7.6.1) and those httpx computes itself.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class EndpointRouter:
    """ASGI app routing one endpoint's requests to its deployments' servers."""

    def __init__(
        self,
        endpoint: LocalEndpoint,
        upstreams: dict[str, str],
        client: httpx.AsyncClient,
        *,
        rng: random.Random | None = None,
        logs: dict[str, str] | None = None,
    ) -> None:
        """`upstreams`: deployment name -> base URL of its server; `logs`: name -> log file."""
        self.endpoint = endpoint
        self.upstreams = upstreams
        self.client = client
        self.rng = rng or random.Random()
        self.logs = logs or {}
        self.traffic: dict[str, int] = dict(endpoint.traffic)
        """The live split: the stack's at start, then as the control route sets it."""
        self.mirror_traffic: dict[str, int] = dict(endpoint.mirror_traffic)
        self._mirror_tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        if scope["path"] == CONTROL_PATH:
            await self._control(scope, body, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        named = next((v.strip() for k, v in headers if k.lower() == DEPLOYMENT_HEADER), None)
        target = named if named else self.pick()
        if target is None:
            await _error(
                send,
                404,
                f"endpoint {self.endpoint.name} sends no live traffic to any deployment; "
                f"name one in the {DEPLOYMENT_HEADER} header ({', '.join(self.endpoint.names)})",
            )
            return
        if target not in self.endpoint.names:
            await _error(
                send,
                404,
                f"endpoint {self.endpoint.name} has no deployment {target!r}; "
                f"it has: {', '.join(self.endpoint.names)}",
            )
            return
        reason = self.endpoint.reason_not_served(target)
        if reason is not None:
            await _error(send, 503, f"deployment {target} is not served locally: {reason}", target)
            return
        forwarded = [(k, v) for k, v in headers if k.lower() not in _NOT_FORWARDED]
        if not named:
            self._maybe_mirror(scope, forwarded, body)
        await self._forward(target, scope, forwarded, body, send)

    def pick(self) -> str | None:
        """A deployment drawn by the traffic weights; None if none takes traffic."""
        weighted = [(name, share) for name, share in self.traffic.items() if share > 0]
        if not weighted:
            return None
        names = [name for name, _ in weighted]
        chosen: str = self.rng.choices(names, weights=[share for _, share in weighted])[0]
        return chosen

    def _maybe_mirror(self, scope: Scope, headers: list[tuple[str, str]], body: bytes) -> None:
        for name, share in self.mirror_traffic.items():
            if share > 0 and name in self.upstreams and self.rng.random() * 100 < share:
                task = asyncio.ensure_future(self._mirror(name, scope, headers, body))
                self._mirror_tasks.add(task)
                task.add_done_callback(self._mirror_tasks.discard)

    async def _mirror(
        self, name: str, scope: Scope, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        # The answer is dropped, as Azure drops a mirror's; its own log and metrics have it.
        with contextlib.suppress(httpx.HTTPError):
            await self._request(name, scope, headers, body)

    async def _control(self, scope: Scope, body: bytes, send: Send) -> None:
        client = (scope.get("client") or ("", 0))[0]
        if client not in _LOOPBACK:
            await _error(send, 403, f"{CONTROL_PATH} answers loopback clients only")
            return
        if scope["method"] == "PUT":
            try:
                traffic, mirror = _new_split(body)
                unknown = sorted((set(traffic) | set(mirror)) - set(self.endpoint.names))
                if unknown:
                    raise ValueError(
                        f"{unknown} are not deployments of endpoint {self.endpoint.name} "
                        f"({', '.join(self.endpoint.names)})"
                    )
                check_traffic(traffic, mirror, self.endpoint.names, "managed")
            except ValueError as error:
                await _error(send, 400, f"PUT {CONTROL_PATH}: {error}")
                return
            self.traffic = {name: traffic.get(name, 0) for name in self.endpoint.names}
            self.mirror_traffic = {k: v for k, v in mirror.items() if v}
        elif scope["method"] != "GET":
            await _error(send, 405, f"{CONTROL_PATH} takes GET and PUT")
            return
        answer = {
            "endpoint": self.endpoint.name,
            "traffic": self.traffic,
            "mirror_traffic": self.mirror_traffic,
            "deployments": self.upstreams,
        }
        await _json(send, 200, answer)

    async def _request(
        self, name: str, scope: Scope, headers: list[tuple[str, str]], body: bytes
    ) -> httpx.Response:
        query = scope.get("query_string", b"").decode("latin-1")
        url = self.upstreams[name] + scope["path"] + (f"?{query}" if query else "")
        return await self.client.request(scope["method"], url, headers=headers, content=body)

    async def _forward(
        self, name: str, scope: Scope, headers: list[tuple[str, str]], body: bytes, send: Send
    ) -> None:
        try:
            response = await self._request(name, scope, headers, body)
        except httpx.TimeoutException:
            await _error(send, 504, f"deployment {name} did not answer in time", name)
            return
        except httpx.HTTPError as error:
            log = self.logs.get(name)
            where = f"; see its log {log}" if log else ""
            await _error(send, 502, f"deployment {name} cannot be reached ({error!r}){where}", name)
            return
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in _NOT_FORWARDED
        ]
        out.append((DEPLOYMENT_HEADER.encode(), name.encode()))
        out.append((b"content-length", str(len(response.content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})

    async def drain(self) -> None:
        """Wait for mirrored copies still in flight."""
        if self._mirror_tasks:
            await asyncio.gather(*self._mirror_tasks, return_exceptions=True)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _new_split(body: bytes) -> tuple[dict[str, int], dict[str, int]]:
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(data, dict) or set(data) - {"traffic", "mirror_traffic"}:
        raise ValueError('send {"traffic": {name: percent}, "mirror_traffic": {name: percent}}')
    out: list[dict[str, int]] = []
    for key in ("traffic", "mirror_traffic"):
        value = data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100 for v in value.values()
        ):
            raise ValueError(f"{key} must map deployment names to whole percents 0-100")
        out.append({str(k): int(v) for k, v in value.items()})
    return out[0], out[1]


async def _json(send: Send, status: int, answer: object) -> None:
    body = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, status: int, message: str, deployment: str | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if deployment is not None:
        headers.append((DEPLOYMENT_HEADER.encode(), deployment.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class PortDispatcher:
    """One ASGI app over several listening sockets: each port is one endpoint's front."""

    def __init__(self, routers: dict[int, EndpointRouter]) -> None:
        self.routers = routers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        port = (scope.get("server") or ("", 0))[1]
        router = self.routers.get(int(port or 0))
        if router is None:
            await _error(send, 404, f"no endpoint is served on port {port}")
            return
        await router(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
