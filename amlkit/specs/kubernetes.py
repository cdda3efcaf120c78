"""`amlkit:kubernetes`: an AKS cluster with the Azure ML extension, attached to the
workspace as a Kubernetes compute, with its instance types.

Kubernetes online endpoints name this compute (`compute: azureml:<name>`). The rules
that span the parts live here: the extension's router replicas and Azure ML's size
minimums against the cluster's nodes (Azure ML's Kubernetes reference, "Recommended
resource planning"), the compute's default instance type, and instance types whose
node selectors cannot match alongside the extension's.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from .azureml_extension import AzureMLExtensionSpec
from .base import Spec
from .identity import ResourceIdentity
from .instance_type import (
    BUILT_IN_DEFAULT,
    DEFAULT_INSTANCE_TYPE,
    InstanceTypeSpec,
    KubernetesName,
)
from .kubernetes_cluster import ExistingClusterSpec, ManagedClusterSpec, NodePoolSpec
from .online_deployment import ResourceRequirements
from .quantity import parse_quantity
from .types import ComputeName

HA_ROUTER_NODES = 3
# (vCPUs, GiB) a node needs, by cluster purpose and whether training is on as well.
MINIMUM_NODE = {
    ("devtest", False): (2, 7.0),
    ("devtest", True): (4, 14.0),
    ("fastprod", False): (4, 14.0),
    ("fastprod", True): (4, 14.0),
}
MINIMUM_NODES = {"devtest": 1, "fastprod": 3}


class KubernetesComputeSpec(Spec):
    """The cluster attached to the workspace (`az ml compute attach --type Kubernetes`)."""

    name: ComputeName = "k8s-compute"
    """The compute's name in the workspace; endpoints say `compute: azureml:<name>`."""
    namespace: KubernetesName = "azureml-workloads"
    """Where Azure ML runs this compute's workloads. amlkit creates it (Azure does not);
    `default` is used as it is."""
    default_instance_type: KubernetesName = DEFAULT_INSTANCE_TYPE
    """For deployments that name none: one of `instance_types`, or Azure's own default."""
    identity: ResourceIdentity = ResourceIdentity(type="system_assigned")
    """What its workloads pull images and read models as; amlkit grants it AcrPull on the
    registry and Storage Blob Data Reader on storage (Azure ML's attach doc)."""
    description: str | None = None


class KubernetesSpec(Spec):
    """A cluster (`managed_cluster` new, or `existing_cluster`), its extension, its
    attachment as a compute and its instance types."""

    managed_cluster: ManagedClusterSpec | None = None
    existing_cluster: ExistingClusterSpec | None = None
    extension: AzureMLExtensionSpec
    """Required: inference needs a TLS choice (a certificate, or HTTP for development)."""
    compute: KubernetesComputeSpec = KubernetesComputeSpec()
    instance_types: Annotated[tuple[InstanceTypeSpec, ...], Field(max_length=50)] = ()

    @model_validator(mode="before")
    @classmethod
    def _new_cluster_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and not {"managed_cluster", "existing_cluster"} & set(data):
            return {**data, "managed_cluster": {}}
        return data

    @model_validator(mode="after")
    def _rules(self) -> KubernetesSpec:
        if (self.managed_cluster is None) == (self.existing_cluster is None):
            raise ValueError("give exactly one of managed_cluster and existing_cluster")
        names = [t.name for t in self.instance_types]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"instance_types: names {duplicates} appear more than once")
        default = self.compute.default_instance_type
        if default != DEFAULT_INSTANCE_TYPE and default not in names:
            raise ValueError(
                f"compute.default_instance_type {default!r} is not in instance_types "
                f"({', '.join(names) or 'none'}) nor Azure's {DEFAULT_INSTANCE_TYPE}"
            )
        self._check_selectors()
        self._check_nodes()
        return self

    def _check_selectors(self) -> None:
        """A pod must match both the extension's and its instance type's node selector."""
        for kind in self.instance_types:
            for key, value in kind.node_selector.items():
                wanted = self.extension.node_selector.get(key)
                if wanted is not None and wanted != value:
                    raise ValueError(
                        f"instance type {kind.name!r}: node_selector {key}={value} contradicts "
                        f"the extension's {key}={wanted}; no node could run its pods"
                    )

    def _check_nodes(self) -> None:
        nodes = self.guaranteed_nodes
        if nodes is None:
            return  # an existing cluster of unstated size: Azure checks at install
        extension = self.extension
        if extension.enable_inference and extension.inference_router_ha and nodes < HA_ROUTER_NODES:
            raise ValueError(
                f"extension.inference_router_ha needs at least {HA_ROUTER_NODES} nodes for its "
                f"3 router replicas; the cluster has {nodes}: add nodes or set "
                "inference_router_ha: false"
            )
        purpose = self.cluster_purpose
        if nodes < MINIMUM_NODES[purpose]:
            raise ValueError(
                f"extension.cluster_purpose {purpose} needs at least {MINIMUM_NODES[purpose]} "
                f"nodes; the cluster has {nodes}"
            )
        if self.managed_cluster is not None:
            for pool in self.managed_cluster.node_pools:
                _check_pool(pool, purpose, extension.enable_training)

    @property
    def guaranteed_nodes(self) -> int | None:
        """Nodes the cluster always has; None for an existing cluster of unstated size."""
        if self.managed_cluster is not None:
            return self.managed_cluster.guaranteed_nodes
        assert self.existing_cluster is not None
        return self.existing_cluster.node_count

    @property
    def cluster_purpose(self) -> str:
        """The extension's `clusterPurpose`: as configured, else by node count."""
        if self.extension.cluster_purpose is not None:
            return self.extension.cluster_purpose
        nodes = self.guaranteed_nodes
        return "fastprod" if nodes is None or nodes >= MINIMUM_NODES["fastprod"] else "devtest"

    @property
    def cluster(self) -> ManagedClusterSpec | ExistingClusterSpec:
        """The new or the existing cluster, whichever is given."""
        cluster = self.managed_cluster or self.existing_cluster
        assert cluster is not None  # _rules requires one
        return cluster

    @property
    def cluster_location(self) -> str | None:
        """An existing cluster's stated region; None: the stack's."""
        return self.existing_cluster.location if self.existing_cluster else None

    @property
    def trusted_access(self) -> bool:
        return self.cluster.trusted_access

    def instance_type(self, name: str | None) -> InstanceTypeSpec | None:
        """The instance type a deployment naming `name` (None: the compute's default) gets;
        None when the stack does not define it and it is not Azure's built-in default."""
        wanted = name or self.compute.default_instance_type
        for kind in self.instance_types:
            if kind.name == wanted:
                return kind
        return BUILT_IN_DEFAULT if wanted == DEFAULT_INSTANCE_TYPE else None


def _check_pool(pool: NodePoolSpec, purpose: str, training: bool) -> None:
    capacity = pool.capacity
    assert capacity is not None  # NodePoolSpec refuses a size it cannot size
    vcpus, memory = MINIMUM_NODE[(purpose, training)]
    if capacity.vcpus < vcpus or capacity.memory_gib < memory:
        raise ValueError(
            f"node pool {pool.name!r}: {pool.vm_size} has {capacity.vcpus} vCPU / "
            f"{capacity.memory_gib:g} GiB; Azure ML's {purpose} minimum is {vcpus} vCPU / "
            f"{memory:g} GiB a node (e.g. Standard_D4s_v5)"
        )


def check_within_instance_type(
    resources: ResourceRequirements | None, kind: InstanceTypeSpec
) -> None:
    """A deployment's requests and limits stay within its instance type's limits (Azure ML's
    instance-types doc: "the resource limits must be less than the instance type limits")."""
    if resources is None:
        return
    ceiling = kind.resources.limits
    for side in ("requests", "limits"):
        values = getattr(resources, side)
        if values is None:
            continue
        for key, label in (("cpu", "cpu"), ("memory", "memory"), ("nvidia_gpu", "nvidia.com/gpu")):
            mine = getattr(values, key)
            theirs = getattr(ceiling, key) or "0"
            if mine is not None and parse_quantity(mine) > parse_quantity(theirs):
                raise ValueError(
                    f"resources.{side}.{label} ({mine}) is above instance type {kind.name!r}'s "
                    f"limit ({getattr(ceiling, key) or 'none'})"
                )
