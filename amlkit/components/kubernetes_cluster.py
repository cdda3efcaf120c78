"""The AKS cluster Kubernetes online endpoints run on: created here, or an existing one.

A new cluster is built as the policy pack's `aks-hardened` rule asks (Kubernetes RBAC
with Microsoft Entra integration, a network policy, the Azure Policy add-on, a managed
identity, the API server private or behind authorized IP ranges) and as Azure ML needs
it (a managed identity, never a service principal; local accounts kept unless the
workspace has Trusted Access). Its kubeconfig, a secret, is what the Kubernetes
providers of the compute and the instance types are built from: the admin credentials
while local accounts exist, else the Entra user credentials (which need `kubelogin` on
the machine running Pulumi). An existing cluster's kubeconfig comes from a file or a
secret config value.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_azure_native import containerservice as aks

from amlkit.specs.kubernetes_cluster import ExistingClusterSpec, ManagedClusterSpec
from amlkit.specs.naming import Names
from amlkit.specs.stack import StackEnvironment

from .tags import stack_tags

MLWORKLOAD_ROLE = "Microsoft.MachineLearningServices/workspaces/mlworkload"
"""The Trusted Access role Azure ML's workloads use (Azure/AML-Kubernetes, azureml-aks-ta-support)."""
TRUSTED_ACCESS_BINDING = "amlkit-mlworkload"


@dataclass(frozen=True)
class KubernetesClusterArgs:
    spec: ManagedClusterSpec | ExistingClusterSpec
    environment: StackEnvironment
    resource_group_name: pulumi.Input[str]
    """Where a new cluster goes (an existing one stays in its own group)."""
    workspace_id: pulumi.Input[str]
    """The workspace Trusted Access binds to the cluster."""
    identities: Mapping[str, pulumi.Input[str]]
    """The stack's user-assigned identities, by name -> ARM id."""


class KubernetesCluster(pulumi.ComponentResource):
    cluster_id: pulumi.Output[str]
    """ARM id of the managed cluster."""
    cluster_name: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    """The cluster's own resource group (its extension lives there)."""
    kubeconfig: pulumi.Output[str]
    """A kubeconfig for the cluster, secret."""
    kubeconfig_context: str | None
    """The kubeconfig context to use; None: its current context."""

    def __init__(
        self, name: str, args: KubernetesClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:KubernetesCluster", name, None, opts)
        spec = args.spec
        if isinstance(spec, ManagedClusterSpec):
            cluster = _managed_cluster(name, spec, args, self)
            self.cluster_id = cluster.id
            self.cluster_name = cluster.name
            self.resource_group_name = pulumi.Output.from_input(args.resource_group_name)
            self.kubeconfig = _credentials(
                args.resource_group_name, cluster.name, admin=spec.local_accounts
            )
            self.kubeconfig_context = None
        else:
            self.cluster_id = pulumi.Output.from_input(spec.resource_id)
            self.cluster_name = pulumi.Output.from_input(spec.name)
            self.resource_group_name = pulumi.Output.from_input(spec.resource_group)
            self.kubeconfig = _existing_kubeconfig(spec)
            self.kubeconfig_context = spec.kubeconfig.context
        if spec.trusted_access:
            aks.TrustedAccessRoleBinding(
                f"{name}-trusted-access",
                resource_group_name=self.resource_group_name,
                resource_name_=self.cluster_name,
                trusted_access_role_binding_name=TRUSTED_ACCESS_BINDING,
                source_resource_id=args.workspace_id,
                roles=[MLWORKLOAD_ROLE],
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"cluster_id": self.cluster_id, "cluster_name": self.cluster_name})


def _managed_cluster(
    name: str, spec: ManagedClusterSpec, args: KubernetesClusterArgs, parent: pulumi.Resource
) -> aks.ManagedCluster:
    env = args.environment
    physical = spec.name or Names(env).kubernetes_cluster()
    identity = aks.ManagedClusterIdentityArgs(type=aks.ResourceIdentityType.SYSTEM_ASSIGNED)
    if spec.identity.type == "user_assigned":
        (ref,) = spec.identity.user_assigned_identities
        identity = aks.ManagedClusterIdentityArgs(
            type=aks.ResourceIdentityType.USER_ASSIGNED,
            user_assigned_identities=[
                args.identities[ref.name] if ref.name else ref.resource_id or ""
            ],
        )
    pools = [
        aks.ManagedClusterAgentPoolProfileArgs(
            name=pool.name,
            mode="System" if index == 0 else "User",
            vm_size=pool.vm_size,
            count=pool.count,
            enable_auto_scaling=pool.min_count is not None,
            min_count=pool.min_count,
            max_count=pool.max_count,
            availability_zones=list(pool.availability_zones) or None,
            node_labels=dict(pool.node_labels) or None,
            node_taints=list(pool.node_taints) or None,
            os_disk_size_gb=pool.os_disk_size_gb,
            os_type="Linux",
            type="VirtualMachineScaleSets",
        )
        for index, pool in enumerate(spec.node_pools)
    ]
    return aks.ManagedCluster(
        name,
        resource_name_=physical,
        resource_group_name=args.resource_group_name,
        location=env.location,
        dns_prefix=physical.replace("_", "-"),
        kubernetes_version=spec.kubernetes_version,
        sku=aks.ManagedClusterSKUArgs(name="Base", tier=spec.sku_tier.capitalize()),
        identity=identity,
        enable_rbac=True,
        aad_profile=aks.ManagedClusterAADProfileArgs(
            managed=True,
            enable_azure_rbac=spec.azure_rbac,
            admin_group_object_ids=list(spec.admin_group_object_ids) or None,
        ),
        disable_local_accounts=not spec.local_accounts,
        agent_pool_profiles=pools,
        network_profile=aks.ContainerServiceNetworkProfileArgs(
            network_plugin=spec.network_plugin,
            network_policy=spec.network_policy,
            load_balancer_sku="standard",
        ),
        api_server_access_profile=aks.ManagedClusterAPIServerAccessProfileArgs(
            enable_private_cluster=spec.private_cluster,
            authorized_ip_ranges=list(spec.authorized_ip_ranges) or None,
        ),
        addon_profiles={
            "azurepolicy": aks.ManagedClusterAddonProfileArgs(enabled=spec.azure_policy)
        },
        tags=stack_tags(env),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _credentials(
    resource_group: pulumi.Input[str], cluster_name: pulumi.Output[str], *, admin: bool
) -> pulumi.Output[str]:
    """The cluster's kubeconfig, read once the cluster exists (its name is unknown in a
    preview of a new cluster, so no lookup runs against a cluster not yet created)."""
    lookup = (
        aks.list_managed_cluster_admin_credentials_output
        if admin
        else aks.list_managed_cluster_user_credentials_output
    )
    result = lookup(resource_group_name=resource_group, resource_name=cluster_name)
    return pulumi.Output.secret(
        result.kubeconfigs.apply(lambda configs: base64.b64decode(configs[0].value).decode())
    )


def _existing_kubeconfig(spec: ExistingClusterSpec) -> pulumi.Output[str]:
    source = spec.kubeconfig
    if source.value is not None:
        return pulumi.Output.secret(source.value.get_secret_value())
    assert source.file is not None  # the spec requires one of the two
    return pulumi.Output.secret(Path(source.file).read_text(encoding="utf-8"))
