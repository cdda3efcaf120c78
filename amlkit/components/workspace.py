"""The Azure ML workspace and the stateful resources it stands on.

Storage (no public blob access, TLS 1.2, HTTPS only, no shared keys), key vault
(RBAC, soft delete, purge protection), container registry (admin user and
anonymous pull off), Log Analytics, workspace-based Application Insights, the
workspace itself, and an identity-based datastore over a container for the
models and code amlkit uploads. The settings follow checkov's and Azure
Policy's baselines (see ../shared/reference/policy-rules.md, rules 9, 11, 12, 16, 17).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import (
    applicationinsights,
    authorization,
    containerregistry,
    keyvault,
    operationalinsights,
    storage,
)
from pulumi_azure_native import (
    machinelearningservices as ml,
)

from amlkit.specs.identity import RoleGrant
from amlkit.specs.naming import Names
from amlkit.specs.stack import StackEnvironment
from amlkit.specs.workspace import WorkspaceSpec

from .role_assignments import RoleAssignments, RoleAssignmentsArgs
from .tags import stack_tags
from .workspace_ref import MonitoringRef, RoleScopes, WorkspaceRef

_ISOLATION = {
    "disabled": "Disabled",
    "allow_internet_outbound": "AllowInternetOutbound",
    "allow_only_approved_outbound": "AllowOnlyApprovedOutbound",
}


def _access(value: str) -> str:
    return "Enabled" if value == "enabled" else "Disabled"


@dataclass(frozen=True)
class WorkspaceArgs:
    spec: WorkspaceSpec
    environment: StackEnvironment
    resource_group_name: pulumi.Input[str]


class Workspace(pulumi.ComponentResource):
    """An Azure ML workspace with its storage, key vault, registry and monitoring."""

    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    registry_name: pulumi.Output[str]
    registry_login_server: pulumi.Output[str]
    """Where the scoring image is pushed (`<name>.azurecr.io`)."""
    registry_id: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]
    key_vault_id: pulumi.Output[str]
    log_analytics_workspace_id: pulumi.Output[str]
    app_insights_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    """The workspace's system-assigned identity."""
    ref: WorkspaceRef
    role_scopes: RoleScopes
    monitoring_ref: MonitoringRef

    def __init__(
        self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:Workspace", name, None, opts)
        spec, env = args.spec, args.environment
        names = Names(env)
        tags = stack_tags(env)
        group = args.resource_group_name
        child = pulumi.ResourceOptions(parent=self)
        # Stateful: deleting them loses models, secrets, images or audit logs.
        kept = pulumi.ResourceOptions(parent=self, protect=env.protect)
        client = authorization.get_client_config_output()

        account = storage.StorageAccount(
            f"{name}-storage",
            account_name=names.storage_account(),
            resource_group_name=group,
            location=env.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=spec.storage.sku),
            allow_blob_public_access=False,
            allow_shared_key_access=spec.storage.allow_shared_key_access,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            tags=tags,
            opts=kept,
        )
        container = storage.BlobContainer(
            f"{name}-assets",
            account_name=account.name,
            resource_group_name=group,
            container_name=names.asset_container(),
            public_access=storage.PublicAccess.NONE,
            opts=child,
        )
        vault = keyvault.Vault(
            f"{name}-key-vault",
            vault_name=names.key_vault(),
            resource_group_name=group,
            location=env.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName(spec.key_vault.sku)),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=spec.key_vault.soft_delete_retention_days,
                enable_purge_protection=True,
            ),
            tags=tags,
            opts=kept,
        )
        registry = containerregistry.Registry(
            f"{name}-registry",
            registry_name=names.container_registry(),
            resource_group_name=group,
            location=env.location,
            sku=containerregistry.SkuArgs(name=spec.container_registry.sku),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access=_access(spec.container_registry.public_network_access),
            tags=tags,
            opts=kept,
        )
        logs = operationalinsights.Workspace(
            f"{name}-log-analytics",
            workspace_name=names.log_analytics(),
            resource_group_name=group,
            location=env.location,
            sku=operationalinsights.WorkspaceSkuArgs(name=spec.log_analytics.sku),
            retention_in_days=spec.log_analytics.retention_in_days,
            features=operationalinsights.WorkspaceFeaturesArgs(disable_local_auth=True),
            tags=tags,
            opts=kept,
        )
        insights = applicationinsights.Component(
            f"{name}-app-insights",
            resource_name_=names.app_insights(),
            resource_group_name=group,
            location=env.location,
            kind="web",
            application_type="web",
            workspace_resource_id=logs.id,
            ingestion_mode="LogAnalytics",
            # Entra-only ingestion (Azure Policy 5cfb9e8a); telemetry clients authenticate.
            disable_local_auth=True,
            tags=tags,
            opts=child,
        )
        workspace = ml.Workspace(
            name,
            workspace_name=spec.name or names.workspace(),
            resource_group_name=group,
            location=env.location,
            kind="Default",
            sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
            friendly_name=spec.friendly_name,
            description=spec.description,
            identity=_workspace_identity(spec),
            storage_account=account.id,
            key_vault=vault.id,
            container_registry=registry.id,
            application_insights=insights.id,
            public_network_access=_access(spec.public_network_access),
            managed_network=ml.ManagedNetworkSettingsArgs(
                isolation_mode=_ISOLATION[spec.managed_network.isolation_mode]
            ),
            # Without shared keys, the workspace reaches its own storage with its identity.
            system_datastores_auth_mode=None
            if spec.storage.allow_shared_key_access
            else "identity",
            tags=tags,
            opts=kept,
        )
        principal = workspace.identity.apply(lambda i: (i.principal_id if i else None) or "")
        scopes = RoleScopes(
            container_registry=registry.id,
            storage=account.id,
            key_vault=vault.id,
            workspace=workspace.id,
            application_insights=insights.id,
        )
        # Identity-based datastores: the workspace's identity reads and writes blobs
        # itself (Azure ML "identity-based data access" doc).
        RoleAssignments(
            f"{name}-roles",
            RoleAssignmentsArgs(
                principal_id=principal,
                grants=(RoleGrant(role="Storage Blob Data Contributor", scope="storage"),),
                scopes=scopes,
            ),
            opts=child,
        )
        datastore = ml.Datastore(
            f"{name}-asset-datastore",
            name=names.datastore(),
            workspace_name=workspace.name,
            resource_group_name=group,
            properties=ml.AzureBlobDatastoreArgs(
                datastore_type="AzureBlob",
                account_name=account.name,
                container_name=container.name,
                credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                service_data_access_auth_identity="WorkspaceSystemAssignedIdentity",
                description="Models and code uploaded by amlkit.",
            ),
            opts=child,
        )

        self.workspace_name = workspace.name
        self.workspace_id = workspace.id
        self.registry_name = registry.name
        self.registry_login_server = registry.login_server
        self.registry_id = registry.id
        self.storage_account_id = account.id
        self.key_vault_id = vault.id
        self.log_analytics_workspace_id = logs.id
        self.app_insights_id = insights.id
        self.principal_id = principal
        self.role_scopes = scopes
        self.ref = WorkspaceRef(
            resource_group_name=group,
            workspace_name=workspace.name,
            workspace_id=workspace.id,
            location=env.location,
            asset_storage_account_name=account.name,
            asset_container_name=container.name,
            asset_datastore_name=datastore.name,
        )
        self.monitoring_ref = MonitoringRef(
            log_analytics_workspace_id=logs.id, app_insights_id=insights.id
        )
        self.register_outputs(
            {
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "registry_login_server": self.registry_login_server,
                "storage_account_id": self.storage_account_id,
                "key_vault_id": self.key_vault_id,
                "log_analytics_workspace_id": self.log_analytics_workspace_id,
                "app_insights_id": self.app_insights_id,
            }
        )


def _workspace_identity(spec: WorkspaceSpec) -> ml.ManagedServiceIdentityArgs:
    """System-assigned unless the spec names existing user-assigned identities (by id:
    the spec refuses names)."""
    identity = spec.identity
    if identity is None or identity.type == "system_assigned":
        return ml.ManagedServiceIdentityArgs(type="SystemAssigned")
    ids = [ref.resource_id for ref in identity.user_assigned_identities if ref.resource_id]
    return ml.ManagedServiceIdentityArgs(
        type="UserAssigned" if identity.type == "user_assigned" else "None",
        user_assigned_identities=ids or None,
    )
