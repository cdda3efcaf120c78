"""A batch endpoint with its deployments and its default deployment.

Batch endpoints take Microsoft Entra tokens only and send every invocation to
`defaults.deployment_name`, which, like online traffic, may only name a
deployment that exists. The default is written by `BatchEndpointDefault`
(`dynamic/batch_default.py`) once every deployment exists: the spec's
`defaults.deployment_name`, or its only deployment.

Why the endpoint sends the LIVE default. azure-native updates an endpoint with a
PUT of the whole body built from its inputs, and whether Azure keeps the default
when that PUT omits it is not documented; amlkit assumes, as for online traffic
(`online_endpoint.py`), that a PUT replaces it. Sending the config's default
fails on creation (the deployment does not exist yet); `ignore_changes` would
send the OLD input, the empty default the endpoint was created with, so a tag
change would leave the endpoint with no default deployment and every invocation
without a target. So the endpoint's `defaults` input is what Azure holds when
the program runs, read with the `getBatchEndpoint` invoke (none when the
endpoint does not exist yet; any other failure to read stops the program).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.asset_uses import use_key
from amlkit.specs.batch_endpoint import BatchEndpointSpec
from amlkit.specs.stack import StackEnvironment

from .asset_catalog import AssetIds
from .batch_deployment import BatchDeployment, BatchDeploymentArgs
from .dynamic.arm_client import not_found
from .dynamic.batch_default import BatchEndpointDefault
from .tags import stack_tags
from .workspace_ref import WorkspaceRef


@dataclass(frozen=True)
class BatchEndpointArgs:
    spec: BatchEndpointSpec
    environment: StackEnvironment
    workspace: WorkspaceRef
    compute_ids: Mapping[str, pulumi.Input[str]]
    assets: Mapping[str, AssetIds]
    """`AssetCatalog.ids`: every deployment's asset ids, by `use_key(endpoint, deployment)`."""


class BatchEndpoint(pulumi.ComponentResource):
    endpoint_name: pulumi.Output[str]
    endpoint_id: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]
    """Where jobs are submitted (`.../jobs`)."""
    default_deployment: pulumi.Output[str]
    """The deployment that gets invocations, as the config names it ("" without deployments)."""
    default_applied: pulumi.Output[bool]
    """True once Azure holds that default (read back after writing); False offline."""
    deployment_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: BatchEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:BatchEndpoint", name, None, opts)
        spec, ws = args.spec, args.workspace
        live = live_default(spec.name, ws)
        endpoint = ml.BatchEndpoint(
            name,
            endpoint_name=spec.name,
            resource_group_name=ws.resource_group_name,
            workspace_name=ws.workspace_name,
            location=ws.location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=ml.BatchEndpointPropertiesArgs(
                auth_mode="AADToken",
                description=spec.description,
                properties=spec.properties or None,
                defaults=live.apply(
                    lambda name: (
                        ml.BatchEndpointDefaultsArgs(deployment_name=name) if name else None
                    )
                ),
            ),
            tags={**stack_tags(args.environment), **spec.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        deployments = {
            d.name: BatchDeployment(
                f"{name}-{d.name}",
                BatchDeploymentArgs(
                    spec=d,
                    endpoint_name=endpoint.name,
                    environment=args.environment,
                    workspace=ws,
                    compute_ids=args.compute_ids,
                    assets=args.assets[use_key(spec.name, d.name)],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for d in spec.deployments
        }
        self.endpoint_name = endpoint.name
        self.endpoint_id = endpoint.id
        self.scoring_uri = endpoint.properties.apply(lambda p: p.scoring_uri or "")
        default = spec.default_deployment
        self.default_deployment = pulumi.Output.from_input(default or "")
        self.default_applied = pulumi.Output.from_input(False)
        if default is not None:
            written = BatchEndpointDefault(
                f"{name}-default",
                workspace_id=ws.workspace_id,
                endpoint_name=endpoint.name,
                deployment_name=default,
                deployment_names=list(deployments),
                # Every deployment (a component: the engine waits on all its children).
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(deployments.values())),
            )
            self.default_applied = written.applied.apply(lambda a: a is True)
        self.deployment_ids = {n: d.deployment_id for n, d in deployments.items()}
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_id": self.endpoint_id,
                "scoring_uri": self.scoring_uri,
                "default_deployment": self.default_deployment,
                "default_applied": self.default_applied,
            }
        )


def live_default(endpoint_name: str, ws: WorkspaceRef) -> pulumi.Output[str | None]:
    """The default deployment Azure holds now; None when the endpoint does not
    exist yet or has none. Unknown in a preview of a new workspace."""

    def read(names: list[str]) -> str | None:
        try:
            found = ml.get_batch_endpoint(
                endpoint_name=endpoint_name, resource_group_name=names[0], workspace_name=names[1]
            )
        except Exception as error:
            if not_found(error):
                return None
            raise
        defaults = found.properties.defaults
        return (defaults.deployment_name if defaults else None) or None

    return pulumi.Output.all(ws.resource_group_name, ws.workspace_name).apply(read)
