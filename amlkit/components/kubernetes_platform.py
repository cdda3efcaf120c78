"""A stack's Kubernetes compute, end to end: the AKS cluster (new or existing), the Azure
ML extension on it, its InstanceTypes, and its attachment to the workspace.

The order is Azure's: the extension needs the cluster; InstanceTypes are custom
resources the extension defines; the attachment needs the extension, and deployments
name instance types, so it waits for them too. Kubernetes online endpoints take the
attached compute's id (`compute_ids`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from amlkit.specs.kubernetes import KubernetesSpec
from amlkit.specs.stack import StackEnvironment

from .azureml_extension import AzureMLExtension, AzureMLExtensionArgs
from .instance_types import InstanceTypes, InstanceTypesArgs
from .kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs
from .kubernetes_compute import KubernetesCompute, KubernetesComputeArgs
from .workspace_ref import RoleScopes, WorkspaceRef


@dataclass(frozen=True)
class KubernetesPlatformArgs:
    spec: KubernetesSpec
    environment: StackEnvironment
    resource_group_name: pulumi.Input[str]
    workspace: WorkspaceRef
    workspace_principal_id: pulumi.Input[str]
    """The workspace's identity: the attachment grants it its roles on the cluster."""
    role_scopes: RoleScopes
    identities: Mapping[str, pulumi.Input[str]]
    """The stack's user-assigned identities, by name -> ARM id."""


class KubernetesPlatform(pulumi.ComponentResource):
    compute_ids: dict[str, pulumi.Output[str]]
    """ARM id of the attached Kubernetes compute, by its name in the workspace."""
    cluster_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: KubernetesPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:KubernetesPlatform", name, None, opts)
        spec, child = args.spec, pulumi.ResourceOptions(parent=self)
        cluster = KubernetesCluster(
            f"{name}-cluster",
            KubernetesClusterArgs(
                spec=spec.cluster,
                environment=args.environment,
                resource_group_name=args.resource_group_name,
                workspace_id=args.workspace.workspace_id,
                identities=args.identities,
            ),
            opts=child,
        )
        extension = AzureMLExtension(
            f"{name}-azureml-extension",
            AzureMLExtensionArgs(
                spec=spec.extension,
                cluster_id=cluster.cluster_id,
                cluster_name=cluster.cluster_name,
                cluster_resource_group=cluster.resource_group_name,
                location=spec.cluster_location or args.environment.location,
                cluster_purpose=spec.cluster_purpose,
            ),
            opts=child,
        )
        instance_types = InstanceTypes(
            f"{name}-instance-types",
            InstanceTypesArgs(
                specs=spec.instance_types,
                kubeconfig=cluster.kubeconfig,
                kubeconfig_context=cluster.kubeconfig_context,
                depends_on=[extension],
            ),
            opts=child,
        )
        attached = KubernetesCompute(
            f"compute-{spec.compute.name}",
            KubernetesComputeArgs(
                spec=spec.compute,
                environment=args.environment,
                workspace=args.workspace,
                workspace_principal_id=args.workspace_principal_id,
                role_scopes=args.role_scopes,
                cluster_id=cluster.cluster_id,
                kubeconfig=cluster.kubeconfig,
                kubeconfig_context=cluster.kubeconfig_context,
                extension_release_train=extension.release_train,
                extension_principal_id=extension.principal_id,
                identities=args.identities,
                # Trusted Access, the extension and the instance types deployments name first.
                depends_on=[cluster, extension, instance_types],
            ),
            opts=child,
        )
        self.cluster_id = cluster.cluster_id
        self.compute_ids = {spec.compute.name: attached.compute_id}
        self.register_outputs({"cluster_id": self.cluster_id, "compute_ids": self.compute_ids})
