"""What a component placed in the workspace needs to know of it.

The `Workspace` component hands these out; endpoints, clusters, assets and
monitoring take them in. Plain frozen dataclasses of `pulumi.Input`s, never
child resource objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class WorkspaceRef:
    """Where to create Azure ML resources, and where their local assets are uploaded."""

    resource_group_name: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    """ARM id of the Azure ML workspace."""
    location: str
    asset_storage_account_name: pulumi.Input[str]
    """The storage account local models and code are uploaded to."""
    asset_container_name: pulumi.Input[str]
    asset_datastore_name: pulumi.Input[str]
    """The workspace datastore over that container (identity-based, no keys)."""


@dataclass(frozen=True)
class RoleScopes:
    """ARM ids of the resources a role may be granted on (see specs.identity.RoleScope)."""

    container_registry: pulumi.Input[str]
    storage: pulumi.Input[str]
    key_vault: pulumi.Input[str]
    workspace: pulumi.Input[str]
    application_insights: pulumi.Input[str]
    kubernetes_cluster: pulumi.Input[str] | None = None
    """The attached AKS cluster, where the stack has one."""

    def scope(self, name: str) -> pulumi.Input[str]:
        value: pulumi.Input[str] | None = getattr(self, name)
        if value is None:
            raise ValueError(f"no {name} in this stack to grant a role on")
        return value


@dataclass(frozen=True)
class MonitoringRef:
    """Where logs and metrics go."""

    log_analytics_workspace_id: pulumi.Input[str]
    app_insights_id: pulumi.Input[str]
