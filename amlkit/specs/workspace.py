"""The Azure ML workspace and the stateful resources it depends on."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, model_validator

from .base import LowerCase, Spec
from .identity import ResourceIdentity
from .types import Flag, WorkspaceName

Access = Annotated[Literal["enabled", "disabled"], LowerCase]


class StorageSpec(Spec):
    """The workspace's storage account. Blob public access is always off, TLS 1.2, HTTPS only."""

    sku: Literal[
        "Standard_LRS",
        "Standard_ZRS",
        "Standard_GRS",
        "Standard_RAGRS",
        "Standard_GZRS",
        "Standard_RAGZRS",
    ] = "Standard_LRS"
    allow_shared_key_access: Flag = False
    """Off: the workspace reaches its datastores with its identity instead of keys."""


class KeyVaultSpec(Spec):
    """The workspace's key vault: RBAC, soft delete and purge protection always on."""

    sku: Annotated[Literal["standard", "premium"], LowerCase] = "standard"
    soft_delete_retention_days: Annotated[StrictInt, Field(ge=7, le=90)] = 90


class ContainerRegistrySpec(Spec):
    """The registry that holds the scoring image; the admin user is always off."""

    sku: Literal["Basic", "Standard", "Premium"] = "Basic"
    public_network_access: Access = "enabled"
    """`disabled` needs the Premium SKU."""

    @model_validator(mode="after")
    def _premium_for_private(self) -> ContainerRegistrySpec:
        if self.public_network_access == "disabled" and self.sku != "Premium":
            raise ValueError("public_network_access disabled needs sku Premium")
        return self


class LogAnalyticsSpec(Spec):
    retention_in_days: Annotated[StrictInt, Field(ge=30, le=730)] = 30
    """Azure's default is 30; audits usually want 90 or more."""
    sku: Literal["PerGB2018"] = "PerGB2018"


class ManagedNetworkSpec(Spec):
    isolation_mode: Annotated[
        Literal["disabled", "allow_internet_outbound", "allow_only_approved_outbound"], LowerCase
    ] = "disabled"


class WorkspaceSpec(Spec):
    """Workspace settings; names default to the naming helper's."""

    name: WorkspaceName | None = None
    description: str | None = None
    friendly_name: str | None = None
    public_network_access: Access = "enabled"
    managed_network: ManagedNetworkSpec = ManagedNetworkSpec()
    identity: ResourceIdentity | None = None
    """Default: system-assigned. User-assigned identities are named by `resource_id`."""
    storage: StorageSpec = StorageSpec()
    key_vault: KeyVaultSpec = KeyVaultSpec()
    container_registry: ContainerRegistrySpec = ContainerRegistrySpec()
    log_analytics: LogAnalyticsSpec = LogAnalyticsSpec()

    @model_validator(mode="after")
    def _identities_by_id(self) -> WorkspaceSpec:
        named = (
            [r.name for r in self.identity.user_assigned_identities if r.name]
            if self.identity
            else []
        )
        if named:
            raise ValueError(
                f"identity: the workspace names user-assigned identities by resource_id, not by "
                f"name ({', '.join(named)}): the stack's own identities get their roles on the "
                "workspace's resources, so they are created after it"
            )
        return self
