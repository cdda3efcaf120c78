"""The front's control route (`GET/PUT /.amlkit/traffic`), which `amlkit rollout --local`
moves the split with: Azure's split rules, loopback clients only, and the new split
routing the next request. Over the router's ASGI app (no deployment needs to run: the
deployments here are not served, so a routed request is answered 503 naming which)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httpx

from amlkit.local.layout import LocalEndpoint, NotServed
from amlkit.local.router import CONTROL_PATH, EndpointRouter


def _router() -> EndpointRouter:
    endpoint = LocalEndpoint(
        "ep",
        "key",
        {"blue": 100, "green": 0},
        {},
        (),
        (NotServed("blue", "a registered model"), NotServed("green", "a registered model")),
    )
    return EndpointRouter(endpoint, {}, httpx.AsyncClient())


async def _call(
    router: EndpointRouter, method: str, path: str, client: str = "127.0.0.1", **kw: Any
) -> httpx.Response:
    transport = httpx.ASGITransport(app=router, client=(client, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://front") as http:
        return await http.request(method, path, **kw)


def _run(walk: Coroutine[Any, Any, None]) -> None:
    """On a loop of its own: asyncio.run would leave the main thread without a current
    loop, which the Pulumi mock engine of later tests asks for."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(walk)
    finally:
        loop.close()


def test_get_and_put_the_split() -> None:
    router = _router()

    async def walk() -> None:
        got = (await _call(router, "GET", CONTROL_PATH)).json()
        assert got == {
            "endpoint": "ep",
            "traffic": {"blue": 100, "green": 0},
            "mirror_traffic": {},
            "deployments": {},
        }
        put = await _call(router, "PUT", CONTROL_PATH, json={"traffic": {"green": 100}})
        assert put.status_code == 200
        assert put.json()["traffic"] == {"blue": 0, "green": 100}
        routed = await _call(router, "POST", "/score", json={})
        assert routed.headers["azureml-model-deployment"] == "green"  # the next request
        mirrored = await _call(
            router,
            "PUT",
            CONTROL_PATH,
            json={"traffic": {"blue": 100}, "mirror_traffic": {"green": 30}},
        )
        assert mirrored.json()["mirror_traffic"] == {"green": 30}

    _run(walk())


def test_refused_splits_and_clients() -> None:
    router = _router()

    async def walk() -> None:
        cases = [
            ({"traffic": {"blue": 60}}, "traffic sums to 60"),
            ({"traffic": {"red": 100}}, "['red'] are not deployments of endpoint ep"),
            ({"traffic": {"blue": 100}, "mirror_traffic": {"green": 60}}, "at most 50%"),
            ({"traffic": {"blue": "all"}}, "whole percents 0-100"),
            ({"split": {}}, 'send {"traffic"'),
        ]
        for body, message in cases:
            answer = await _call(router, "PUT", CONTROL_PATH, json=body)
            assert answer.status_code == 400 and message in answer.json()["error"], answer.text
        assert router.traffic == {"blue": 100, "green": 0}  # unchanged by any of them
        remote = await _call(router, "PUT", CONTROL_PATH, client="10.1.2.3", json={})
        assert remote.status_code == 403
        assert (await _call(router, "DELETE", CONTROL_PATH)).status_code == 405

    _run(walk())
