"""An online endpoint with its deployments, their autoscale, and its traffic.

Created as `az ml online-endpoint create` does: system-assigned identity unless
the spec names user-assigned ones; a system-assigned identity is granted AcrPull
on the registry (to pull the scoring image), Storage Blob Data Reader (to read
its model), Key Vault Secrets User and Monitoring Metrics Publisher before any
deployment is created. The config's split is written by `OnlineEndpointTraffic`
(`dynamic/online_traffic.py`) once every deployment exists.

Why the endpoint sends the LIVE split. azure-native updates an endpoint with a
PUT of the whole body built from its inputs. Whether Azure keeps the live
`traffic` when that PUT omits it or sends it empty is not documented (Azure
ML's REST reference, the safe-rollout docs and the issue trackers searched say
nothing either way), and `az ml online-endpoint update` itself GETs the
endpoint and PUTs the whole body back with the traffic it read, so amlkit
assumes the worst: a PUT replaces traffic wholesale. Then neither obvious
choice is safe:
- sending the config's split fails on creation (its deployments do not exist
  yet) and, in a run that adds a deployment, moves traffic before it exists;
- `ignore_changes` on traffic makes the engine send the OLD input, which is the
  empty split the endpoint was created with: a tag or auth-mode change would
  reset live traffic to zero, an outage.
So the endpoint's `traffic` and `mirrorTraffic` inputs are what Azure holds
when the program runs, read with the `getOnlineEndpoint` invoke (empty when the
endpoint, its workspace or its resource group does not exist yet; any other
failure to read stops the program before anything is sent). The endpoint's PUT
runs before any step of this run touches traffic (the traffic resource depends
on the endpoint through its deployments), so it writes back exactly what Azure
holds. The cost: the run after a traffic change shows the endpoint's traffic
inputs catching up with Azure, an update that changes nothing live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.asset_uses import use_key
from amlkit.specs.identity import DEFAULT_ENDPOINT_ROLES, ResourceIdentity
from amlkit.specs.online_endpoint import OnlineEndpointSpec
from amlkit.specs.stack import StackEnvironment

from .asset_catalog import AssetIds
from .dynamic.arm_client import not_found
from .dynamic.online_traffic import OnlineEndpointTraffic
from .identity_args import identity_args
from .online_deployment import OnlineDeployment, OnlineDeploymentArgs
from .role_assignments import RoleAssignments, RoleAssignmentsArgs
from .tags import stack_tags
from .workspace_ref import RoleScopes, WorkspaceRef

AUTH_MODES = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}
GET_ONLINE_ENDPOINT = "azure-native:machinelearningservices:getOnlineEndpoint"


@dataclass(frozen=True)
class OnlineEndpointArgs:
    spec: OnlineEndpointSpec
    environment: StackEnvironment
    workspace: WorkspaceRef
    role_scopes: RoleScopes
    identities: Mapping[str, pulumi.Input[str]]
    """The stack's user-assigned identities, by name -> ARM id."""
    assets: Mapping[str, AssetIds]
    """`AssetCatalog.ids`: every deployment's asset ids, by `use_key(endpoint, deployment)`."""
    kubernetes_computes: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The stack's Kubernetes computes, by name -> ARM id (`KubernetesCompute.compute_id`):
    a Kubernetes endpoint then waits for its compute to be attached."""


class OnlineEndpoint(pulumi.ComponentResource):
    endpoint_name: pulumi.Output[str]
    endpoint_id: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    """The system-assigned identity's principal; empty for user-assigned identities."""
    deployment_ids: dict[str, pulumi.Output[str]]
    """ARM id of each deployment, by deployment name."""
    traffic: pulumi.Output[dict[str, object]]
    """Desired `traffic` and `mirror_traffic`, and whether they were applied."""

    def __init__(
        self, name: str, args: OnlineEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:OnlineEndpoint", name, None, opts)
        spec, ws = args.spec, args.workspace
        identity = spec.identity or ResourceIdentity(type="system_assigned")
        live = live_split(spec.name, ws)
        endpoint = ml.OnlineEndpoint(
            name,
            endpoint_name=spec.name,
            resource_group_name=ws.resource_group_name,
            workspace_name=ws.workspace_name,
            location=ws.location,
            kind="Managed" if spec.kind == "managed" else "Kubernetes",
            identity=identity_args(identity, args.identities),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=AUTH_MODES[spec.auth_mode],
                description=spec.description,
                properties=spec.properties or None,
                public_network_access="Enabled"
                if spec.public_network_access == "enabled"
                else "Disabled",
                compute=_kubernetes_compute(spec, ws, args.kubernetes_computes),
                traffic=live.apply(lambda s: s["traffic"] or None),
                mirror_traffic=live.apply(lambda s: s["mirror_traffic"] or None),
            ),
            tags={**stack_tags(args.environment), **spec.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        principal = endpoint.identity.apply(lambda i: (i.principal_id if i else None) or "")
        before_deployments: list[pulumi.Resource] = []
        if identity.type == "system_assigned":
            before_deployments.append(
                RoleAssignments(
                    f"{name}-roles",
                    RoleAssignmentsArgs(
                        principal_id=principal,
                        grants=DEFAULT_ENDPOINT_ROLES,
                        scopes=args.role_scopes,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        deployments = {
            d.name: OnlineDeployment(
                f"{name}-{d.name}",
                OnlineDeploymentArgs(
                    spec=d,
                    endpoint_name=endpoint.name,
                    endpoint_kind=spec.kind,
                    environment=args.environment,
                    workspace=ws,
                    assets=args.assets[use_key(spec.name, d.name)],
                    depends_on=before_deployments,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for d in spec.deployments
        }
        split = OnlineEndpointTraffic(
            f"{name}-traffic",
            workspace_id=ws.workspace_id,
            endpoint_name=endpoint.name,
            endpoint_kind=spec.kind,
            deployment_names=list(deployments),
            traffic=spec.traffic,
            mirror_traffic=spec.mirror_traffic,
            rollout=rollout_declared(spec),
            # Every deployment (a component: the engine waits on all its children).
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(deployments.values())),
        )
        self.endpoint_name = endpoint.name
        self.endpoint_id = endpoint.id
        self.scoring_uri = endpoint.properties.apply(lambda p: p.scoring_uri or "")
        self.principal_id = principal
        self.deployment_ids = {n: d.deployment_id for n, d in deployments.items()}
        self.traffic = split.applied.apply(
            lambda applied: {
                "traffic": dict(spec.traffic),
                "mirror_traffic": dict(spec.mirror_traffic),
                "applied": applied is True,
            }
        )
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_id": self.endpoint_id,
                "scoring_uri": self.scoring_uri,
                "traffic": self.traffic,
            }
        )


def live_split(endpoint_name: str, ws: WorkspaceRef) -> pulumi.Output[dict[str, dict[str, int]]]:
    """`{"traffic": ..., "mirror_traffic": ...}` as Azure holds them now; empty when
    the endpoint does not exist yet. Unknown in a preview of a new workspace."""

    def read(names: list[str]) -> dict[str, dict[str, int]]:
        try:
            found = ml.get_online_endpoint(
                endpoint_name=endpoint_name, resource_group_name=names[0], workspace_name=names[1]
            )
        except Exception as error:
            if not_found(error):  # anything else is not "no traffic"
                return {"traffic": {}, "mirror_traffic": {}}
            raise
        properties = found.properties
        return {
            "traffic": {k: int(v) for k, v in (properties.traffic or {}).items()},
            "mirror_traffic": {k: int(v) for k, v in (properties.mirror_traffic or {}).items()},
        }

    return pulumi.Output.all(ws.resource_group_name, ws.workspace_name).apply(read)


def _kubernetes_compute(
    spec: OnlineEndpointSpec, ws: WorkspaceRef, computes: Mapping[str, pulumi.Input[str]]
) -> pulumi.Input[str] | None:
    """`azureml:<name>` -> the stack's Kubernetes compute (its id, so the endpoint waits for
    the attach), else that name's ARM id in this workspace; an ARM id as given."""
    if spec.compute is None:
        return None
    if spec.compute.startswith("/subscriptions/"):
        return spec.compute
    name = spec.compute.removeprefix("azureml:")
    if name in computes:
        return computes[name]
    return pulumi.Output.concat(ws.workspace_id, "/computes/", name)


def rollout_declared(spec: OnlineEndpointSpec) -> dict[str, Any] | None:
    """The endpoint's `rollout:` section as policy reads it: candidate, baseline, strategy,
    the gates' metrics and onFailure; None without one."""
    rollout = spec.rollout
    if rollout is None:
        return None
    return {
        "candidate": rollout.candidate,
        "baseline": spec.rollout_baseline(),
        "strategy": rollout.strategy.type,
        "gates": [g.metric for g in rollout.gates],
        "onFailure": rollout.on_failure,
    }
