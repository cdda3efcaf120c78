"""A stand-in for Azure Resource Manager's online endpoint and deployment routes,
served over TLS on 127.0.0.1 (Starlette on uvicorn, in a thread).

Served, with API version 2025-12-01 only and a bearer token required:
- PUT, GET, PATCH, DELETE `.../workspaces/{ws}/onlineEndpoints/{name}`
- PUT, GET, PATCH, DELETE `.../onlineEndpoints/{name}/deployments/{name}`
- PUT, GET, PATCH, DELETE `.../workspaces/{ws}/batchEndpoints/{name}`
- PUT, GET, PATCH, DELETE `.../batchEndpoints/{name}/deployments/{name}`
- POST `.../onlineEndpoints/{name}/listKeys` and `.../token` (the scoring credentials)
- GET `{online endpoint id}/providers/Microsoft.Insights/metrics` (Azure Monitor, API
  2024-02-01) and POST `/score/{endpoint}` (the endpoints' `scoringUri`), answered
  from a scenario over the live split: `monitor.py`
- GET `.../locations/{loc}/mfeOperationsStatus/{id}` (the `Azure-AsyncOperation`
  header of every write) and `.../mfeOperationResults/{id}` (the `Location`
  header of DELETE and PATCH), as Azure ML names them.

Writes answer 200/201 (PUT) or 202 (PATCH, DELETE) with provisioningState
Creating/Updating/Deleting; the operation reports InProgress, then Succeeded,
and only then does the write take effect. Refusals carry ARM's error body
`{"error": {"code", "message"}}`. The rules are in `online_state.py`, `batch_state.py` and `endpoints.py`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.azure_standin.arm import ArmRefusal, Operation, require
from tests.azure_standin.batch_state import BatchEndpoints
from tests.azure_standin.monitor import (
    METRICS,
    METRICS_API_VERSION,
    SCORING,
    aml_token_of,
    key_of,
    metrics,
    score,
)
from tests.azure_standin.online_state import OnlineEndpoints
from tests.azure_standin.state import MLState
from tests.azure_standin.tls import self_signed
from tests.azure_standin.workspaces import LOG_ANALYTICS, LOG_ANALYTICS_API_VERSION, ML_WORKSPACE

API_VERSION = "2025-12-01"
TOKEN = "standin-token"
LOCATION = "westeurope"

_WORKSPACE = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
_PATHS = {
    kind: (
        re.compile(_WORKSPACE + rf"/{kind}/(?P<ep>[^/]+)$", re.IGNORECASE),
        re.compile(
            _WORKSPACE + rf"/{kind}/(?P<ep>[^/]+)/deployments/(?P<dep>[^/]+)$", re.IGNORECASE
        ),
    )
    for kind in ("onlineendpoints", "batchendpoints")  # ARM paths are case-insensitive
}
_ACTION = re.compile(_WORKSPACE + r"/onlineEndpoints/(?P<ep>[^/]+)/(?P<action>listKeys|token)$")
_OPERATION = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.MachineLearningServices/locations/"
    r"(?P<loc>[^/]+)/(?P<kind>mfeOperationsStatus|mfeOperationResults)/(?P<op>[^/]+)$",
    re.IGNORECASE,
)


def build_app(state: MLState) -> Starlette:
    async def handle(request: Request) -> Response:
        path = request.url.path
        with state.lock:
            state.requests.append(f"{request.method} {path}")
        if request.method == "POST" and SCORING.match(path):
            with state.lock:
                status, answer = score(state, path, dict(request.headers))
            return JSONResponse(answer, status_code=status)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(
                ArmRefusal(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed: bearer token missing or invalid.",
                )
            )
        expected = (
            LOG_ANALYTICS_API_VERSION
            if LOG_ANALYTICS.match(path)
            else METRICS_API_VERSION
            if METRICS.match(path)
            else API_VERSION
        )
        if request.query_params.get("api-version") != expected:
            return _error(
                ArmRefusal(
                    400,
                    "InvalidApiVersionParameter",
                    f"The api-version '{request.query_params.get('api-version')}' is not served "
                    f"here; use {expected}.",
                )
            )
        if request.method in ("PUT", "PATCH", "DELETE") and not state.writes_authorized:
            return _error(
                ArmRefusal(
                    403,
                    "AuthorizationFailed",
                    "The client 'rollout' does not have authorization to perform action "
                    f"'{_action(path, request.method)}' over scope '{path}' or the scope is "
                    "invalid.",
                )
            )
        body: dict[str, Any] = {}
        if request.method in ("PUT", "PATCH"):
            try:
                parsed = json.loads(await request.body())
            except json.JSONDecodeError:
                return _error(ArmRefusal(400, "InvalidRequestContent", "The body is not JSON."))
            if not isinstance(parsed, dict):
                return _error(
                    ArmRefusal(400, "InvalidRequestContent", "The body is not an object.")
                )
            body = parsed
        try:
            with state.lock:
                return _route(state, request, path, body)
        except ArmRefusal as refusal:
            return _error(refusal)

    return Starlette(
        routes=[Route("/{path:path}", handle, methods=["GET", "PUT", "PATCH", "DELETE", "POST"])]
    )


def _action(path: str, method: str) -> str:
    """The RBAC action of a write: `Microsoft.X/type/subtype/write` (or `/delete`)."""
    provider = path.split("/providers/", 1)[-1].split("/")
    types = "/".join([provider[0], *provider[1::2]])
    return f"{types}/{'delete' if method == 'DELETE' else 'write'}"


def _route(state: MLState, request: Request, path: str, body: dict[str, Any]) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}"
    method = request.method
    if match := _OPERATION.match(path):
        operation = state.poll(match["op"])
        if match["kind"].lower() == "mfeoperationresults":
            if operation.status == "InProgress":
                return Response(
                    status_code=202, headers=_poll_headers(base, match["sub"], operation)
                )
            return Response(status_code=200)
        return JSONResponse(
            {"id": path, "name": operation.id, "status": operation.status},
            headers={"x-ms-retry-after-ms": "5"} if operation.status == "InProgress" else {},
        )
    if method == "GET" and METRICS.match(path):
        return JSONResponse(metrics(state, path, dict(request.query_params)))
    if method == "POST" and (match := _ACTION.match(path)):
        endpoint = state.online.endpoint(_key(match, "onlineendpoints"))
        if match["action"] == "listKeys":
            require(endpoint.body["properties"].get("authMode") == "Key", "key auth is off")
            return JSONResponse(
                {"primaryKey": key_of(match["ep"]), "secondaryKey": key_of(match["ep"]) + "-2"}
            )
        require(endpoint.body["properties"].get("authMode") == "AMLToken", "token auth is off")
        return JSONResponse({"accessToken": aml_token_of(match["ep"]), "tokenType": "Bearer"})
    if method == "DELETE" and (ML_WORKSPACE.match(path) or LOG_ANALYTICS.match(path)):
        flag = "forceToPurge" if ML_WORKSPACE.match(path) else "force"
        state.workspaces.delete(path, flag, request.query_params.get(flag))
        return Response(status_code=200)
    for kind, store in (("onlineendpoints", state.online), ("batchendpoints", state.batch)):
        endpoint_path, deployment_path = _PATHS[kind]
        if match := deployment_path.match(path):
            return _deployment(store, base, path, method, match, _key(match, kind), body)
        if match := endpoint_path.match(path):
            return _endpoint(store, base, path, method, match, _key(match, kind), body)
    raise ArmRefusal(404, "NoRegisteredProviderFound", f"No route for {method} {path} here.")


def _endpoint(
    store: OnlineEndpoints | BatchEndpoints,
    base: str,
    path: str,
    method: str,
    match: re.Match[str],
    key: str,
    body: dict[str, Any],
) -> Response:
    if method == "GET":
        body = store.get_endpoint(key)
        if (
            isinstance(store, OnlineEndpoints)
            and body["properties"]["provisioningState"] != "Creating"
        ):
            body["properties"]["scoringUri"] = f"{base}/score/{match['ep']}"
        return _resource(path, body)
    if method == "PUT":
        status, operation = store.put_endpoint(key, match["ep"], body)
        return _accepted(base, match["sub"], path, store.get_endpoint(key), status, operation)
    if method == "PATCH":
        return _accepted(base, match["sub"], path, None, 202, store.patch_endpoint(key, body))
    return _accepted(base, match["sub"], path, None, 202, store.delete_endpoint(key))


def _deployment(
    store: OnlineEndpoints | BatchEndpoints,
    base: str,
    path: str,
    method: str,
    match: re.Match[str],
    key: str,
    body: dict[str, Any],
) -> Response:
    name = match["dep"]
    if method == "GET":
        return _resource(path, store.get_deployment(key, name))
    if method == "PUT":
        status, operation = store.put_deployment(key, name, body)
        deployment = store.get_deployment(key, name)
        return _accepted(base, match["sub"], path, deployment, status, operation)
    if method == "PATCH":
        operation = store.patch_deployment(key, name, body)
    else:
        operation = store.delete_deployment(key, name)
    return _accepted(base, match["sub"], path, None, 202, operation)


def _key(match: re.Match[str], kind: str) -> str:
    return (
        f"/subscriptions/{match['sub']}/resourcegroups/{match['rg']}/providers/"
        f"microsoft.machinelearningservices/workspaces/{match['ws']}/{kind}/{match['ep']}"
    ).lower()


def _resource(path: str, body: dict[str, Any]) -> Response:
    return JSONResponse({**body, "id": path})


def _poll_headers(base: str, subscription: str, operation: Operation) -> dict[str, str]:
    root = f"{base}/subscriptions/{subscription}/providers/Microsoft.MachineLearningServices/locations/{LOCATION}"
    query = f"?api-version={API_VERSION}"
    return {
        "Azure-AsyncOperation": f"{root}/mfeOperationsStatus/{operation.id}{query}",
        "Location": f"{root}/mfeOperationResults/{operation.id}{query}",
        "x-ms-retry-after-ms": "5",
    }


def _accepted(
    base: str,
    subscription: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    operation: Operation,
) -> Response:
    headers = _poll_headers(base, subscription, operation)
    if status != 202:
        headers.pop("Location")  # a PUT's final state is the resource itself
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse({**body, "id": path}, status_code=status, headers=headers)


def _error(refusal: ArmRefusal) -> Response:
    return JSONResponse(
        {"error": {"code": refusal.code, "message": refusal.message}}, status_code=refusal.status
    )


@dataclass
class Standin:
    """A running stand-in: its base URL, the CA file that trusts it, and its state."""

    base_url: str
    ca_file: Path
    state: MLState


@contextmanager
def serve(directory: Path) -> Iterator[Standin]:
    """Serve a fresh stand-in until the block ends."""
    cert, key = self_signed(directory)
    state = MLState()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(state),
        log_level="warning",
        lifespan="off",
        loop="asyncio",
        http="h11",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the Azure stand-in did not start")
            threading.Event().wait(0.01)
        yield Standin(f"https://127.0.0.1:{port}", cert, state)
    finally:
        server.should_exit = server.force_exit = True  # do not wait on keep-alive clients
        thread.join(timeout=10)
        sock.close()
