"""A stack identity gets the default endpoint roles, each on its one resource."""

from __future__ import annotations

from typing import Any

from amlkit.components.managed_identity import ManagedIdentity, ManagedIdentityArgs
from amlkit.components.workspace_ref import RoleScopes
from amlkit.specs import IdentitySpec, StackEnvironment
from amlkit.specs.identity import FORBIDDEN_ROLE_IDS, ROLE_DEFINITION_IDS
from tests.components.conftest import INSIGHTS_ID, REGISTRY_ID, STORAGE_ID, VAULT_ID


def test_default_roles_and_outputs(
    render: Any, environment: StackEnvironment, role_scopes: RoleScopes
) -> None:
    outputs: dict[str, str] = {}

    def program() -> None:
        identity = ManagedIdentity(
            "identity-endpoint",
            ManagedIdentityArgs(
                spec=IdentitySpec(name="endpoint"),
                environment=environment,
                resource_group_name="rg-amlkit-test",
                scopes=role_scopes,
            ),
        )
        for key in ("id", "principal_id", "client_id"):
            getattr(identity, key).apply(lambda v, key=key: outputs.__setitem__(key, v))

    rec = render(program)
    identity = rec.one("azure-native:managedidentity:UserAssignedIdentity")
    assert identity.inputs["resourceName"] == "id-amlkit-test-endpoint"
    assert identity.inputs["location"] == "westeurope"
    assert outputs == {
        "id": identity.id,
        "principal_id": identity.outputs["principalId"],
        "client_id": identity.outputs["clientId"],
    }
    assert identity.id.endswith("/userAssignedIdentities/id-amlkit-test-endpoint")
    grants = {
        g.inputs["roleDefinitionId"].rsplit("/", 1)[-1]: g.inputs["scope"]
        for g in rec.of_type("azure-native:authorization:RoleAssignment")
        if g.inputs["principalId"] == outputs["principal_id"]
    }
    assert grants == {
        ROLE_DEFINITION_IDS["AcrPull"]: REGISTRY_ID,
        ROLE_DEFINITION_IDS["Storage Blob Data Reader"]: STORAGE_ID,
        ROLE_DEFINITION_IDS["Key Vault Secrets User"]: VAULT_ID,
        ROLE_DEFINITION_IDS["Monitoring Metrics Publisher"]: INSIGHTS_ID,
    }
    assert not set(grants) & set(FORBIDDEN_ROLE_IDS.values())
