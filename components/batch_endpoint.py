"""A batch endpoint with its deployments.

Batch endpoints take Microsoft Entra tokens only and send every invocation to
`defaults.deployment_name`, which, like online traffic, may only name a
deployment that exists. The endpoint is created without defaults and ignores
later changes to them; the default deployment is carried as an output. NOT DONE
YET: writing the default to Azure after the deployments exist, as online traffic
now is (endpoint_traffic.py and traffic_provider.py show the way); until then
Azure makes the first deployment created the default, which is the spec's when
it has one deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from .asset_catalog import AssetCatalog
from .batch_deployment import BatchDeployment, BatchDeploymentArgs
from .specs.batch_endpoint import BatchEndpointSpec
from .specs.stack import StackEnvironment
from .tags import stack_tags
from .workspace_ref import WorkspaceRef

DEFAULTS_FIELDS = ["properties.defaults"]


@dataclass(frozen=True)
class BatchEndpointArgs:
    spec: BatchEndpointSpec
    environment: StackEnvironment
    workspace: WorkspaceRef
    compute_ids: Mapping[str, pulumi.Input[str]]
    assets: AssetCatalog


class BatchEndpoint(pulumi.ComponentResource):
    endpoint_name: pulumi.Output[str]
    endpoint_id: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]
    """Where jobs are submitted (`.../jobs`)."""
    default_deployment: pulumi.Output[str]
    deployment_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: BatchEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:BatchEndpoint", name, None, opts)
        spec, ws = args.spec, args.workspace
        endpoint = ml.BatchEndpoint(
            f"{name}-endpoint",
            endpoint_name=spec.name,
            resource_group_name=ws.resource_group_name,
            workspace_name=ws.workspace_name,
            location=ws.location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=ml.BatchEndpointPropertiesArgs(
                auth_mode="AADToken",
                description=spec.description,
                properties=spec.properties or None,
            ),
            tags={**stack_tags(args.environment), **spec.tags},
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=DEFAULTS_FIELDS),
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
                    assets=args.assets,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for d in spec.deployments
        }
        self.endpoint_name = endpoint.name
        self.endpoint_id = endpoint.id
        self.scoring_uri = endpoint.properties.apply(lambda p: p.scoring_uri or "")
        self.default_deployment = pulumi.Output.from_input(spec.default_deployment or "")
        self.deployment_ids = {n: d.deployment_id for n, d in deployments.items()}
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_id": self.endpoint_id,
                "scoring_uri": self.scoring_uri,
                "default_deployment": self.default_deployment,
            }
        )
