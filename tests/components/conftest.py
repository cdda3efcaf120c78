"""Shared inputs for component tests: a workspace reference with ARM-shaped ids,
and the Azure stand-in with a client of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from amlkit.components.dynamic.arm_client import ArmClient
from amlkit.components.workspace_ref import RoleScopes, WorkspaceRef
from tests.azure_standin import Standin, serve, standin_credential

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-amlkit-test/providers"
WORKSPACE_ID = f"{SUB}/Microsoft.MachineLearningServices/workspaces/mlw-amlkit-test"
REGISTRY_ID = f"{SUB}/Microsoft.ContainerRegistry/registries/cramlkittest"
STORAGE_ID = f"{SUB}/Microsoft.Storage/storageAccounts/stamlkittest"
VAULT_ID = f"{SUB}/Microsoft.KeyVault/vaults/kv-amlkit-test"
INSIGHTS_ID = f"{SUB}/Microsoft.Insights/components/appi-amlkit-test"


@pytest.fixture
def workspace_ref() -> WorkspaceRef:
    return WorkspaceRef(
        resource_group_name="rg-amlkit-test",
        workspace_name="mlw-amlkit-test",
        workspace_id=WORKSPACE_ID,
        location="westeurope",
        asset_storage_account_name="stamlkittest",
        asset_container_name="amlkit-assets",
        asset_datastore_name="amlkit_assets",
    )


@pytest.fixture
def role_scopes() -> RoleScopes:
    return RoleScopes(
        container_registry=REGISTRY_ID,
        storage=STORAGE_ID,
        key_vault=VAULT_ID,
        workspace=WORKSPACE_ID,
        application_insights=INSIGHTS_ID,
    )


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Standin]:
    """Azure ML's endpoint API on 127.0.0.1 over TLS. Its certificate is trusted the
    way any private CA is: by the process's environment (requests reads
    REQUESTS_CA_BUNDLE)."""
    with serve(tmp_path) as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_file))
        yield running


@pytest.fixture
def arm(standin: Standin) -> ArmClient:
    return ArmClient(standin_credential(), standin.base_url)
