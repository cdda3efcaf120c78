"""The amlkit stack program: load this stack's spec, build the components, export.

Every environment runs this same program; what differs is the data in
`stacks/Pulumi.<stack>.yaml`. A bad config stops here, before any resource,
with one line per problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from amlkit.components import (
    AssetCatalog,
    AssetCatalogArgs,
    BatchEndpoint,
    BatchEndpointArgs,
    ComputeCluster,
    ComputeClusterArgs,
    KubernetesPlatform,
    KubernetesPlatformArgs,
    ManagedIdentity,
    ManagedIdentityArgs,
    Monitoring,
    MonitoringArgs,
    OnlineEndpoint,
    OnlineEndpointArgs,
    ResourceGroup,
    ResourceGroupArgs,
    ScoringImage,
    ScoringImageArgs,
    Workspace,
    WorkspaceArgs,
)
from amlkit.specs import ConfigError, StackSpec
from amlkit.specs.stack_config import spec_from_config, stack_file, values_from_pulumi_strings


def load_spec() -> StackSpec:
    """This stack's config as the engine passes it, validated (all of it: a namespace
    that is a typo of `amlkit:` is refused, not ignored)."""
    config: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    source = stack_file(Path(__file__).resolve().parent, pulumi.get_stack())
    try:
        return spec_from_config(values_from_pulumi_strings(config), source=source)
    except ConfigError as error:
        for problem in error.problems:
            pulumi.log.error(str(problem))
        raise pulumi.RunError(f"{len(error.problems)} problem(s) in the stack config") from None


spec = load_spec()
env = spec.environment

group = ResourceGroup("resource-group", ResourceGroupArgs(environment=env))
workspace = Workspace(
    "workspace", WorkspaceArgs(spec=spec.workspace, environment=env, resource_group_name=group.name)
)
identities = {
    i.name: ManagedIdentity(
        f"identity-{i.name}",
        ManagedIdentityArgs(
            spec=i, environment=env, resource_group_name=group.name, scopes=workspace.role_scopes
        ),
    )
    for i in spec.identities
}
identity_ids = {name: identity.id for name, identity in identities.items()}
image = ScoringImage(
    "scoring-image",
    ScoringImageArgs(
        spec=spec.scoring_image,
        environment=env,
        workspace=workspace.ref,
        registry_login_server=workspace.registry_login_server,
    ),
)
assets = AssetCatalog(
    "assets",
    AssetCatalogArgs(
        workspace=workspace.ref,
        uses=spec.asset_uses(),
        default_environment_id=image.environment_id,
        batch_environment_id=image.batch_environment_id,
    ),
)
clusters = {
    c.name: ComputeCluster(
        f"compute-{c.name}",
        ComputeClusterArgs(
            spec=c, environment=env, workspace=workspace.ref, identities=identity_ids
        ),
    )
    for c in spec.compute
}
kubernetes = (
    KubernetesPlatform(
        "kubernetes",
        KubernetesPlatformArgs(
            spec=spec.kubernetes,
            environment=env,
            resource_group_name=group.name,
            workspace=workspace.ref,
            workspace_principal_id=workspace.principal_id,
            role_scopes=workspace.role_scopes,
            identities=identity_ids,
        ),
    )
    if spec.kubernetes is not None
    else None
)
kubernetes_computes = kubernetes.compute_ids if kubernetes is not None else {}
online = {
    e.name: OnlineEndpoint(
        f"online-{e.name}",
        OnlineEndpointArgs(
            spec=e,
            environment=env,
            workspace=workspace.ref,
            role_scopes=workspace.role_scopes,
            identities=identity_ids,
            assets=assets.ids,
            kubernetes_computes=kubernetes_computes,
        ),
    )
    for e in spec.online_endpoints
}
batch = {
    e.name: BatchEndpoint(
        f"batch-{e.name}",
        BatchEndpointArgs(
            spec=e,
            environment=env,
            workspace=workspace.ref,
            compute_ids={name: cluster.compute_id for name, cluster in clusters.items()},
            assets=assets.ids,
        ),
    )
    for e in spec.batch_endpoints
}
Monitoring(
    "monitoring",
    MonitoringArgs(
        spec=spec.monitoring,
        environment=env,
        resource_group_name=group.name,
        workspace_id=workspace.workspace_id,
        monitoring=workspace.monitoring_ref,
        online_endpoints={name: endpoint.endpoint_id for name, endpoint in online.items()},
        online_deployments={
            (name, deployment): deployment_id
            for name, endpoint in online.items()
            for deployment, deployment_id in endpoint.deployment_ids.items()
        },
        deployment_capacity=spec.online_capacity(),
    ),
)

pulumi.export("resource_group", group.name)
pulumi.export("workspace", workspace.workspace_name)
pulumi.export("registry", workspace.registry_login_server)
pulumi.export("scoring_image", image.image_ref)
pulumi.export("batch_image", image.batch_image_ref)
pulumi.export("online_endpoints", {name: e.scoring_uri for name, e in online.items()})
pulumi.export("online_traffic", {name: e.traffic for name, e in online.items()})
pulumi.export("kubernetes_computes", kubernetes_computes)
pulumi.export("batch_endpoints", {name: e.scoring_uri for name, e in batch.items()})
