"""The AKS cluster Kubernetes online endpoints run on: a new one, or an existing one.

Azure ML's limits (how-to-deploy-kubernetes-extension, "Limitations"): the cluster uses
a managed identity, never a service principal (there is no field for one here);
local accounts stay enabled unless the workspace reaches the cluster through AKS
Trusted Access (the `Microsoft.MachineLearningServices/workspaces/mlworkload` role
binding, Azure/AML-Kubernetes docs/azureml-aks-ta-support.md); an authorized IP range
needs Azure ML's control-plane ranges, or Trusted Access.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .assets import resolve_local_path
from .base import LowerCase, Spec
from .identity import ResourceIdentity
from .instance_type import LabelMap
from .secrets import NotPlaceholderSecret
from .types import Flag, Location, VmSize
from .vm_sizes import VmCapacity, vm_capacity

MANAGED_CLUSTER_ID = (
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.ContainerService/managedClusters/[^/]+$"
)
PoolName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,11}$")]
"""AKS node pool names: lower-case letters and digits, a letter first, 1-12 characters."""
Cidr = Annotated[str, StringConstraints(pattern=r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$")]


class NodePoolSpec(Spec):
    """An AKS node pool; the first pool of a cluster is its system pool."""

    name: PoolName = "system"
    vm_size: VmSize = "Standard_D4s_v5"
    """4 vCPU / 16 GiB: above Azure ML's production minimum (4 vCPU / 14 GiB a node)."""
    count: Annotated[StrictInt, Field(ge=1, le=1000)] = 3
    """Nodes; 3 or more lets the inference router run 3 replicas (`inference_router_ha`)."""
    min_count: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    """With `max_count`: the cluster autoscaler keeps the pool within min..max."""
    max_count: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    availability_zones: tuple[Literal["1", "2", "3"], ...] = ()
    node_labels: LabelMap = {}
    """Labels instance types and the extension's `node_selector` can select."""
    node_taints: tuple[str, ...] = ()
    """e.g. `ml.azure.com/amlarc-workload=true:NoSchedule` (the taints Azure ML tolerates)."""
    os_disk_size_gb: Annotated[StrictInt, Field(ge=30, le=2048)] | None = None
    vcpus: Annotated[StrictInt, Field(ge=1, le=1024)] | None = None
    """Only for a `vm_size` amlkit's size table does not hold (specs/vm_sizes.py)."""
    memory_gib: Annotated[StrictFloat, Field(gt=0, le=32768)] | None = None

    @model_validator(mode="after")
    def _scaling(self) -> NodePoolSpec:
        if (self.min_count is None) != (self.max_count is None):
            raise ValueError("min_count and max_count go together (the cluster autoscaler)")
        if self.min_count is not None and self.max_count is not None:
            if self.min_count > self.max_count:
                raise ValueError(
                    f"min_count ({self.min_count}) is above max_count ({self.max_count})"
                )
            if not self.min_count <= self.count <= self.max_count:
                raise ValueError(
                    f"count ({self.count}) lies outside min_count..max_count "
                    f"({self.min_count}..{self.max_count})"
                )
        if (self.vcpus is None) != (self.memory_gib is None):
            raise ValueError("vcpus and memory_gib go together")
        if self.capacity is None:
            raise ValueError(
                f"vm_size {self.vm_size!r} is not in amlkit's size table; state its `vcpus` "
                "and `memory_gib` so Azure ML's minimums can be checked"
            )
        return self

    @property
    def capacity(self) -> VmCapacity | None:
        if self.vcpus is not None and self.memory_gib is not None:
            return VmCapacity(self.vcpus, self.memory_gib)
        return vm_capacity(self.vm_size)

    @property
    def guaranteed_nodes(self) -> int:
        """Nodes the pool always has: its autoscale minimum, else its count."""
        return self.min_count if self.min_count is not None else self.count


class ManagedClusterSpec(Spec):
    """A new AKS cluster, hardened as the policy pack's `aks-hardened` rule asks."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}$")] | None = (
        None
    )
    """Default: `aks-amlkit-<env>` (specs/naming.py)."""
    kubernetes_version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$")] | None = (
        None
    )
    """Default: AKS's default version. Azure ML supports the latest GA minor and two before."""
    sku_tier: Annotated[Literal["free", "standard", "premium"], LowerCase] = "standard"
    """`standard` carries AKS's uptime SLA; `free` has none."""
    node_pools: Annotated[tuple[NodePoolSpec, ...], Field(min_length=1, max_length=10)] = (
        NodePoolSpec(),
    )
    identity: ResourceIdentity = ResourceIdentity(type="system_assigned")
    """A managed identity: system-assigned, or one user-assigned identity (Azure ML does not
    support service-principal clusters)."""
    network_plugin: Annotated[Literal["azure", "kubenet"], LowerCase] = "azure"
    network_policy: Annotated[Literal["azure", "calico", "cilium"], LowerCase] = "azure"
    """Kubernetes network policies enforced (checkov CKV_AZURE_7)."""
    private_cluster: Flag = False
    """A private API server; with Azure ML this needs Trusted Access or a private link."""
    authorized_ip_ranges: tuple[Cidr, ...] = ()
    """Who may reach a public API server. Without Trusted Access, add Azure ML's control-plane
    ranges of the region and its pair (Azure ML's extension doc)."""
    admin_group_object_ids: tuple[str, ...] = ()
    """Microsoft Entra groups that administer the cluster (Entra integration is always on)."""
    azure_rbac: Flag = True
    """Kubernetes authorization through Azure RBAC."""
    azure_policy: Flag = True
    """The Azure Policy add-on (Gatekeeper), as the `aks-hardened` rule asks."""
    local_accounts: Flag = True
    """Azure ML's extension needs local accounts unless `trusted_access` is on."""
    trusted_access: Flag = False
    """Bind the workspace to the cluster with AKS Trusted Access (role
    `Microsoft.MachineLearningServices/workspaces/mlworkload`): Azure ML then reaches a cluster
    without local accounts or behind authorized IP ranges."""

    @model_validator(mode="after")
    def _rules(self) -> ManagedClusterSpec:
        names = [p.name for p in self.node_pools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"node_pools: names {duplicates} appear more than once")
        if self.identity.type == "none":
            raise ValueError(
                "identity: Azure ML needs the cluster to have a managed identity "
                "(system_assigned or user_assigned)"
            )
        if len(self.identity.user_assigned_identities) > 1:
            raise ValueError("identity: AKS takes one user-assigned identity")
        if not self.local_accounts and not self.trusted_access:
            raise ValueError(
                "local_accounts: false needs trusted_access: true (Azure ML's extension reaches "
                "a cluster without local accounts only through AKS Trusted Access)"
            )
        if self.private_cluster and self.authorized_ip_ranges:
            raise ValueError("authorized_ip_ranges apply to a public API server, not a private one")
        return self

    @property
    def guaranteed_nodes(self) -> int:
        return sum(p.guaranteed_nodes for p in self.node_pools)


class KubeconfigSpec(Spec):
    """Where the Kubernetes provider gets an existing cluster's kubeconfig."""

    file: str | None = None
    """A kubeconfig file (e.g. `~/.kube/config`), relative to the stack file."""
    value: NotPlaceholderSecret | None = None
    """The kubeconfig itself, as a secret: `pulumi config set --secret`."""
    context: str | None = None
    """A context of that kubeconfig; default: its current context."""

    @field_validator("file")
    @classmethod
    def _existing(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else resolve_local_path(value, info)

    @model_validator(mode="after")
    def _one_source(self) -> KubeconfigSpec:
        if (self.file is None) == (self.value is None):
            raise ValueError("give exactly one of `file` and `value`")
        return self


class ExistingClusterSpec(Spec):
    """An AKS cluster created outside this stack."""

    resource_id: Annotated[str, StringConstraints(pattern=MANAGED_CLUSTER_ID)]
    """/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerService/
    managedClusters/<name>; in the workspace's subscription (Azure ML attaches no other)."""
    kubeconfig: KubeconfigSpec
    location: Location | None = None
    """Its region; default: the stack's."""
    node_count: Annotated[StrictInt, Field(ge=1, le=5000)] | None = None
    """Its nodes, if known: then `inference_router_ha` is checked against it."""
    trusted_access: Flag = False
    """Create the Trusted Access role binding for the workspace on this cluster."""

    @property
    def name(self) -> str:
        return self.resource_id.rsplit("/", 1)[-1]

    @property
    def resource_group(self) -> str:
        return self.resource_id.split("/")[4]
