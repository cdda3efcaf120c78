"""Azure ML instance types on Kubernetes: `InstanceType` custom resources
(`amlarc.azureml.com/v1alpha1`) that the Azure ML extension's CRD defines.

The rules are Microsoft's ("Create and manage instance types", Azure ML docs,
how-to-manage-kubernetes-instance-types): a name unique in the cluster; CPU and
memory requests and limits, none zero or empty; GPUs (`nvidia.com/gpu`) an integer
and only under `limits`; `nodeSelector` a map of strings. A deployment's own
`resources` must stay under its instance type's limits.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from .base import Spec
from .quantity import GpuCount, Quantity, parse_quantity

DEFAULT_INSTANCE_TYPE = "defaultinstancetype"
"""The instance type Azure creates when a cluster is attached, and uses when a deployment
names none; a custom instance type of this name overrides it."""

# Kubernetes object names (DNS-1123 labels): lower-case letters, digits and '-', 1-63.
KubernetesName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
]
LabelMap = dict[
    Annotated[str, StringConstraints(pattern=r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*)?$")],
    Annotated[str, StringConstraints(max_length=63)],
]


class InstanceTypeRequests(Spec):
    cpu: Quantity
    """e.g. `700m` or `"1"`; required, not zero."""
    memory: Quantity
    """e.g. `1500Mi`; required, not zero."""


class InstanceTypeLimits(Spec):
    cpu: Quantity
    memory: Quantity
    nvidia_gpu: GpuCount | None = Field(default=None, alias="nvidia.com/gpu")
    """Whole GPUs; the only place a GPU can be asked for."""


class InstanceTypeResources(Spec):
    requests: InstanceTypeRequests
    limits: InstanceTypeLimits

    @model_validator(mode="after")
    def _sane(self) -> InstanceTypeResources:
        for side, values in (("requests", self.requests), ("limits", self.limits)):
            for key in ("cpu", "memory"):
                if parse_quantity(getattr(values, key)) <= 0:
                    raise ValueError(f"{side}.{key}: Azure refuses zero")
        for key in ("cpu", "memory"):
            low, high = getattr(self.requests, key), getattr(self.limits, key)
            if parse_quantity(low) > parse_quantity(high):
                raise ValueError(f"requests.{key} ({low}) is above limits.{key} ({high})")
        return self


class InstanceTypeSpec(Spec):
    """One `InstanceType` custom resource in the cluster."""

    name: KubernetesName
    """Unique in the cluster; `defaultinstancetype` overrides Azure's default."""
    node_selector: LabelMap = {}
    """Node labels the pods must match (with the extension's own `node_selector`)."""
    resources: InstanceTypeResources


BUILT_IN_DEFAULT = InstanceTypeSpec(
    name=DEFAULT_INSTANCE_TYPE,
    resources=InstanceTypeResources(
        requests=InstanceTypeRequests(cpu="100m", memory="2Gi"),
        limits=InstanceTypeLimits(cpu="2", memory="2Gi"),
    ),
)
"""Azure's `defaultinstancetype` as the instance-types doc defines it (no node selector)."""
