"""A batch endpoint's default deployment, written to Azure once it exists.

A batch endpoint sends every invocation to `defaults.deploymentName`, which may
only name a deployment of the endpoint that exists, and deployments are children
of the endpoint: the default cannot travel with the endpoint's creation. As for
online traffic (`endpoint_traffic.py`), one dynamic resource owns it and depends
on every deployment of the endpoint, so the engine
- creates it after the endpoint and its deployments, in the same `pulumi up`;
- updates it in place when `defaults.deployment_name` changes, after a
  deployment added in the same run exists, and before a deployment removed
  from the config is deleted (deletes run after every create and update);
- deletes it on `destroy` without touching Azure: the default goes with the
  endpoint, and Azure has no "no default" to return to once deployments exist.

The write is what `az ml batch-endpoint update --set defaults.deployment_name=X`
does (Microsoft's samples moved to it from `batch-deployment create
--set-default`): GET the endpoint, set `properties.defaults.deploymentName` in
the body Azure returned, PUT it back (the endpoint's ARM PATCH takes only tags
and identity), then GET again and fail unless Azure holds the default asked for.
`check` refuses a default that is not one of the endpoint's deployments before
anything is sent; `read` (`pulumi refresh`) takes Azure's default into the state,
so a change made outside Pulumi shows as a diff that the next `up` undoes.

How the endpoint's own PUT keeps the default: `batch_endpoint.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from .arm_client import ArmError
from .arm_provider import (
    ENDPOINT_READ_ONLY_PROPERTIES,
    ENDPOINT_TARGET,
    ArmProvider,
    writable_body,
)


class BatchDefaultsProvider(ArmProvider):
    """Sets which deployment of a batch endpoint gets its invocations."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [
            CheckFailure(key, f"{key} is required") for key in ENDPOINT_TARGET if not news.get(key)
        ]
        name = news.get("deploymentName")
        deployments = [str(d) for d in news.get("deployments") or []]
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
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ENDPOINT_TARGET if olds.get(k) != news.get(k)]
        changed = not _same_name(olds.get("deploymentName"), news.get("deploymentName"))
        return DiffResult(
            changes=bool(replaces or changed), replaces=replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(batch_endpoint_id(props), self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Nothing to undo in Azure: see the module's docstring."""

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        endpoint = self._client().get(batch_endpoint_id(props))
        if endpoint is None:
            return ReadResult(None, {})
        live = live_default(endpoint)
        return ReadResult(id_, {**props, "deploymentName": live, "liveDeploymentName": live})

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        client, resource_id = self._client(), batch_endpoint_id(props)
        name = str(props["deploymentName"])
        endpoint = client.get(resource_id)
        if endpoint is None:
            raise ArmError(
                f"batch endpoint {resource_id} does not exist; its default deployment cannot be set"
            )
        client.put(resource_id, with_default(endpoint, name))
        live = live_default(client.get(resource_id) or {})
        if not _same_name(live, name):
            raise ArmError(
                f"batch endpoint {props['endpointName']}: asked for default deployment {name!r}; "
                f"Azure holds {live!r}"
            )
        return {**props, "liveDeploymentName": live, "applied": True}


class BatchEndpointDefaults(pulumi.dynamic.Resource):
    """The dynamic resource; its outputs are what Azure held after the write."""

    applied: pulumi.Output[bool]
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
            BatchDefaultsProvider(),
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


def batch_endpoint_id(props: Mapping[str, Any]) -> str:
    return f"{props['workspaceId']}/batchEndpoints/{props['endpointName']}"


def with_default(endpoint: Mapping[str, Any], deployment_name: str) -> dict[str, Any]:
    """The endpoint as Azure returned it, writable fields only, with this default."""
    defaults = dict((endpoint.get("properties") or {}).get("defaults") or {})
    return writable_body(
        endpoint,
        ENDPOINT_READ_ONLY_PROPERTIES,
        defaults={**defaults, "deploymentName": deployment_name},
    )


def live_default(endpoint: Mapping[str, Any]) -> str | None:
    defaults = (endpoint.get("properties") or {}).get("defaults") or {}
    name = defaults.get("deploymentName")
    return str(name) if name else None


def _same_name(a: Any, b: Any) -> bool:
    """Azure ML names are case-insensitive."""
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()
