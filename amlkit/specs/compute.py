"""An Azure ML compute cluster (CLI v2 `amlCompute`) that scales to zero."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, StrictInt, StringConstraints, model_validator

from .base import LowerCase, Spec
from .identity import ResourceIdentity
from .secrets import NotPlaceholderSecret
from .types import ComputeName, Flag, Location, NonNegativeInt, Tags, VmSize

# "Nodes in a single AmlCompute cluster ... 100 nodes but configurable up to 65,000"
# (Azure ML's "Manage and increase quotas" doc, ms.date 2026-01-27).
MAX_CLUSTER_NODES = 65_000

UNSUPPORTED_COMPUTE: dict[str, str] = {
    "computeinstance": "compute instances (a personal notebook VM is no serving "
    "infrastructure; create it with `az ml compute create`)",
    "kubernetes": "Kubernetes compute files (attach a cluster with `amlkit:kubernetes`)",
    "virtualmachine": "attached virtual machines (Azure ML serves on clusters or Kubernetes only)",
    "synapsespark": "attached Synapse Spark pools (Azure ML serves on clusters or Kubernetes only)",
}
"""Compute `type`s of CLI v2 that amlkit does not deploy, each with the reason."""


class SshSettings(Spec):
    admin_username: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "azureuser"
    admin_password: NotPlaceholderSecret | None = None
    ssh_key_value: str | None = None
    """The public key; never printed in an error (people paste private ones by mistake)."""


class NetworkSettings(Spec):
    vnet_name: str | None = None
    """A virtual network in the workspace's resource group; needs `subnet`."""
    subnet: str | None = None
    """A subnet name (with vnet_name) or a full ARM subnet id."""

    @model_validator(mode="after")
    def _subnet_resolves(self) -> NetworkSettings:
        if self.subnet is None:
            if self.vnet_name is not None:
                raise ValueError("vnet_name needs subnet (the subnet's name in that network)")
            return self
        if not self.subnet.startswith("/subscriptions/") and self.vnet_name is None:
            raise ValueError(
                f"subnet {self.subnet!r} needs vnet_name, or give the full subnet id "
                "(/subscriptions/.../virtualNetworks/<vnet>/subnets/<subnet>)"
            )
        return self


class ComputeClusterSpec(Spec):
    """Every `amlCompute` field of CLI v2, with its defaults."""

    schema_: str | None = Field(default=None, alias="$schema")
    name: ComputeName
    type: Annotated[Literal["amlcompute"], LowerCase] = "amlcompute"
    description: str | None = None
    location: Location | None = None
    """Default: the workspace's location."""
    tags: Tags = {}
    size: VmSize = "Standard_DS3_v2"
    tier: Annotated[Literal["dedicated", "low_priority"], LowerCase] = "dedicated"
    min_instances: Annotated[StrictInt, Field(ge=0, le=MAX_CLUSTER_NODES)] = 0
    """0 lets the cluster scale to zero when idle."""
    max_instances: Annotated[StrictInt, Field(ge=1, le=MAX_CLUSTER_NODES)] = 4
    """4, as `az ml compute create` sends (azure-ai-ml's AmlCompute; its YAML reference says 1)."""
    idle_time_before_scale_down: NonNegativeInt = 120
    """Seconds a node stays idle before it is released."""
    ssh_public_access_enabled: Flag = False
    ssh_settings: SshSettings | None = None
    network_settings: NetworkSettings | None = None
    enable_node_public_ip: Flag = True
    """Azure's default; false needs a subnet or the workspace's managed network."""
    identity: ResourceIdentity | None = None

    @model_validator(mode="before")
    @classmethod
    def _supported_type(cls, data: Any) -> Any:
        typ = data.get("type") if isinstance(data, dict) else None
        reason = UNSUPPORTED_COMPUTE.get(typ.lower()) if isinstance(typ, str) else None
        if reason is not None:
            raise ValueError(f"type {typ!r}: amlkit does not support {reason}")
        return data

    @model_validator(mode="after")
    def _min_le_max(self) -> ComputeClusterSpec:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) is above max_instances ({self.max_instances})"
            )
        if self.ssh_public_access_enabled and self.ssh_settings is None:
            raise ValueError("ssh_public_access_enabled needs ssh_settings")
        return self


__all__ = ["ComputeClusterSpec", "NetworkSettings", "SecretStr", "SshSettings"]
