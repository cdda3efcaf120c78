"""The workspace and its stateful dependencies carry the security baseline."""

from __future__ import annotations

from typing import Any

import pytest

from amlkit.components.resource_group import ResourceGroup, ResourceGroupArgs
from amlkit.components.workspace import Workspace, WorkspaceArgs
from amlkit.plan.mock_engine import Recording
from amlkit.specs import StackEnvironment, WorkspaceSpec
from amlkit.specs.identity import ROLE_DEFINITION_IDS

STATEFUL = [
    "azure-native:machinelearningservices:Workspace",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
    "azure-native:operationalinsights:Workspace",
]


def _render(render: Any, environment: StackEnvironment, spec: WorkspaceSpec) -> Recording:
    def program() -> None:
        group = ResourceGroup("rg", ResourceGroupArgs(environment=environment))
        Workspace(
            "ws", WorkspaceArgs(spec=spec, environment=environment, resource_group_name=group.name)
        )

    recording: Recording = render(program)
    return recording


def test_security_baseline(render: Any, environment: StackEnvironment) -> None:
    rec = _render(render, environment, WorkspaceSpec())
    account = rec.one("azure-native:storage:StorageAccount").inputs
    assert account["allowBlobPublicAccess"] is False
    assert account["allowSharedKeyAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["enableHttpsTrafficOnly"] is True
    vault = rec.one("azure-native:keyvault:Vault").inputs["properties"]
    assert (
        vault["enableRbacAuthorization"],
        vault["enableSoftDelete"],
        vault["enablePurgeProtection"],
    ) == (
        True,
        True,
        True,
    )
    assert vault["tenantId"] == "11111111-1111-1111-1111-111111111111"
    registry = rec.one("azure-native:containerregistry:Registry").inputs
    assert (registry["adminUserEnabled"], registry["anonymousPullEnabled"]) == (False, False)
    insights = rec.one("azure-native:applicationinsights:Component").inputs
    assert insights["disableLocalAuth"] is True
    assert insights["workspaceResourceId"].endswith("/workspaces/log-amlkit-test")
    logs = rec.one("azure-native:operationalinsights:Workspace").inputs
    assert logs["retentionInDays"] == 30
    assert logs["features"]["disableLocalAuth"] is True


def test_workspace_wiring_and_identity_based_datastore(
    render: Any, environment: StackEnvironment
) -> None:
    rec = _render(render, environment, WorkspaceSpec())
    ws = rec.one("azure-native:machinelearningservices:Workspace").inputs
    assert ws["storageAccount"].endswith(
        "/storageAccounts/" + rec.one("azure-native:storage:StorageAccount").inputs["accountName"]
    )
    assert ws["keyVault"].endswith("/vaults/kv-amlkit-test-" + ws["keyVault"][-6:])
    assert ws["containerRegistry"].split("/")[-2] == "registries"
    assert ws["applicationInsights"].endswith("/components/appi-amlkit-test")
    assert ws["identity"] == {"type": "SystemAssigned"}
    assert ws["systemDatastoresAuthMode"] == "identity"
    assert ws["publicNetworkAccess"] == "Enabled"
    datastore = rec.one("azure-native:machinelearningservices:Datastore").inputs
    assert datastore["properties"]["credentials"] == {"credentialsType": "None"}
    assert datastore["properties"]["containerName"] == "amlkit-assets"
    grant = rec.one("azure-native:authorization:RoleAssignment").inputs
    assert grant["roleDefinitionId"].endswith(ROLE_DEFINITION_IDS["Storage Blob Data Contributor"])
    assert grant["scope"] == ws["storageAccount"]


@pytest.mark.parametrize("protect", [True, False])
def test_stateful_resources_follow_protect(render: Any, protect: bool) -> None:
    env = StackEnvironment(name="test", location="westeurope", protect=protect)
    rec = _render(render, env, WorkspaceSpec())
    assert [rec.one(t).protect for t in STATEFUL] == [protect] * len(STATEFUL)
    assert rec.one("azure-native:storage:BlobContainer").protect is False


def test_private_workspace(render: Any, environment: StackEnvironment) -> None:
    spec = WorkspaceSpec.model_validate(
        {
            "public_network_access": "disabled",
            "managed_network": {"isolation_mode": "allow_only_approved_outbound"},
            "container_registry": {"sku": "Premium", "public_network_access": "disabled"},
            "log_analytics": {"retention_in_days": 90},
            "key_vault": {"sku": "premium"},
        }
    )
    rec = _render(render, environment, spec)
    ws = rec.one("azure-native:machinelearningservices:Workspace").inputs
    assert ws["publicNetworkAccess"] == "Disabled"
    assert ws["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    registry = rec.one("azure-native:containerregistry:Registry").inputs
    assert (registry["sku"]["name"], registry["publicNetworkAccess"]) == ("Premium", "Disabled")
    assert rec.one("azure-native:operationalinsights:Workspace").inputs["retentionInDays"] == 90
    assert rec.one("azure-native:keyvault:Vault").inputs["properties"]["sku"]["name"] == "premium"
