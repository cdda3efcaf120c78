"""An AKS cluster attached to the workspace as a compute of type `Kubernetes`.

In the order Azure ML's attach doc requires: the namespace first (attach neither creates
nor checks it, and workloads sent to a missing one fail), the workspace identity's roles
on the cluster (Reader, Kubernetes Extension Contributor, Azure Kubernetes Service
Cluster Admin Role), the extension installed, then the compute. Its own identity gets
AcrPull on the registry and Storage Blob Data Reader on storage, to pull images and read
models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as kubernetes
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.identity import KUBERNETES_COMPUTE_ROLES, WORKSPACE_ON_KUBERNETES_ROLES
from amlkit.specs.kubernetes import KubernetesComputeSpec
from amlkit.specs.stack import StackEnvironment

from .identity_args import identity_args
from .role_assignments import RoleAssignments, RoleAssignmentsArgs
from .tags import stack_tags
from .workspace_ref import RoleScopes, WorkspaceRef

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class KubernetesComputeArgs:
    spec: KubernetesComputeSpec
    environment: StackEnvironment
    workspace: WorkspaceRef
    workspace_principal_id: pulumi.Input[str]
    """The workspace's system-assigned identity, granted its roles on the cluster."""
    role_scopes: RoleScopes
    cluster_id: pulumi.Input[str]
    kubeconfig: pulumi.Input[str]
    """Secret; for the Kubernetes provider that creates the namespace."""
    extension_release_train: str
    extension_principal_id: pulumi.Input[str]
    identities: Mapping[str, pulumi.Input[str]]
    """The stack's user-assigned identities, by name -> ARM id."""
    kubeconfig_context: str | None = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist before the attach: the Azure ML extension."""


class KubernetesCompute(pulumi.ComponentResource):
    compute_id: pulumi.Output[str]
    """ARM id of the compute, for Kubernetes endpoints' `compute`."""
    compute_name: pulumi.Output[str]
    namespace: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    """The compute's system-assigned identity; empty for a user-assigned one."""

    def __init__(
        self, name: str, args: KubernetesComputeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:KubernetesCompute", name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        before: list[pulumi.Resource] = list(args.depends_on)
        namespace: pulumi.Output[str] = pulumi.Output.from_input(spec.namespace)
        if spec.namespace != DEFAULT_NAMESPACE:
            provider = kubernetes.Provider(
                f"{name}-provider",
                kubeconfig=pulumi.Output.secret(args.kubeconfig),
                context=args.kubeconfig_context,
                opts=child,
            )
            created = kubernetes.core.v1.Namespace(
                f"{name}-namespace",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(
                    name=spec.namespace,
                    labels={"app.kubernetes.io/managed-by": "amlkit"},
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
            namespace = created.metadata.apply(lambda m: m.name or spec.namespace)
            before.append(created)
        scopes = dataclasses.replace(args.role_scopes, kubernetes_cluster=args.cluster_id)
        before.append(
            RoleAssignments(
                f"{name}-workspace-roles",
                RoleAssignmentsArgs(
                    principal_id=args.workspace_principal_id,
                    grants=WORKSPACE_ON_KUBERNETES_ROLES,
                    scopes=scopes,
                ),
                opts=child,
            )
        )
        compute = ml.Compute(
            name,
            compute_name=spec.name,
            resource_group_name=args.workspace.resource_group_name,
            workspace_name=args.workspace.workspace_name,
            location=args.workspace.location,
            identity=identity_args(spec.identity, args.identities),
            tags=stack_tags(args.environment),
            properties=ml.KubernetesArgs(
                compute_type="Kubernetes",
                resource_id=args.cluster_id,
                description=spec.description,
                properties=ml.KubernetesPropertiesArgs(
                    namespace=namespace,
                    default_instance_type=spec.default_instance_type,
                    extension_instance_release_train=args.extension_release_train,
                    extension_principal_id=args.extension_principal_id,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=before),
        )
        principal = compute.identity.apply(lambda i: (i.principal_id if i else None) or "")
        if spec.identity.type == "system_assigned":
            RoleAssignments(
                f"{name}-roles",
                RoleAssignmentsArgs(
                    principal_id=principal, grants=KUBERNETES_COMPUTE_ROLES, scopes=scopes
                ),
                opts=child,
            )
        self.compute_id = compute.id
        self.compute_name = compute.name
        self.namespace = namespace
        self.principal_id = principal
        self.register_outputs({"compute_id": self.compute_id, "namespace": self.namespace})
