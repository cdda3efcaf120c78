"""A batch endpoint's default deployment, written once it exists.

A batch endpoint sends every invocation to `defaults.deploymentName`, which may
only name an existing deployment of the endpoint. The write is what
`az ml batch-endpoint update --set defaults.deployment_name=X` does (Microsoft's
samples moved to it from `batch-deployment create --set-default`).

- `check` refuses a default that is not one of the endpoint's deployments before
  anything is sent; names compare case-insensitively, as Azure ML's do.
- `delete` leaves Azure alone: the default goes with the endpoint, and Azure has
  no "no default" to return to once deployments exist.

The write itself, and the order the engine gives it: `endpoint_setting.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CheckFailure

from .endpoint_setting import EndpointSetting, EndpointSettingProvider


class BatchDefault(EndpointSetting):
    """Which deployment of a batch endpoint gets its invocations."""

    collection = "batchEndpoints"
    what = "default deployment"
    noun = "batch endpoint"

    def check(self, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
        name = news.get("deploymentName")
        deployments = [str(d) for d in news.get("deployments") or []]
        failures = []
        if not isinstance(name, str) or not name:
            failures.append(CheckFailure("deploymentName", "deploymentName is required"))
        elif name.lower() not in {d.lower() for d in deployments}:
            failures.append(
                CheckFailure(
                    "deploymentName",
                    f"batch endpoint {news.get('endpointName')}: defaults.deployment_name "
                    f"{name!r} is not one of its deployments {deployments}",
                )
            )
        return dict(news), failures

    def changed(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        return not same_name(olds.get("deploymentName"), news.get("deploymentName"))

    def properties(self, endpoint: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
        defaults = dict((endpoint.get("properties") or {}).get("defaults") or {})
        return {"defaults": {**defaults, "deploymentName": str(props["deploymentName"])}}

    def live(self, endpoint: Mapping[str, Any]) -> dict[str, Any]:
        defaults = (endpoint.get("properties") or {}).get("defaults") or {}
        name = defaults.get("deploymentName")
        return {"liveDeploymentName": str(name) if name else None}

    def mismatch(self, props: Mapping[str, Any], live: Mapping[str, Any]) -> str | None:
        name, held = props.get("deploymentName"), live["liveDeploymentName"]
        if same_name(held, name):
            return None
        return f"asked for default deployment {name!r}; Azure holds {held!r}"

    def refreshed(self, props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
        return {**props, "deploymentName": live["liveDeploymentName"], **live}


class BatchEndpointDefault(pulumi.dynamic.Resource, module="amlkit", name="BatchEndpointDefault"):
    """Type `pulumi-python:dynamic/amlkit:BatchEndpointDefault`; its outputs are what
    Azure held after the write."""

    deployment_name: pulumi.Output[str]
    applied: pulumi.Output[bool]
    """True once Azure holds the default; unset in an offline plan, where nothing is written."""
    live_deployment_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        workspace_id: pulumi.Input[str],
        endpoint_name: pulumi.Input[str],
        deployment_name: str,
        deployment_names: Sequence[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            EndpointSettingProvider(BatchDefault()),
            name,
            {
                "workspaceId": workspace_id,
                "endpointName": endpoint_name,
                "deploymentName": deployment_name,
                "deployments": list(deployment_names),
                "applied": None,
                "liveDeploymentName": None,
            },
            opts,
        )


def same_name(a: Any, b: Any) -> bool:
    """Azure ML names are case-insensitive."""
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()
