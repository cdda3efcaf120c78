"""Roles are narrow, on one resource, for a service principal, with stable names."""

from __future__ import annotations

from typing import Any

import pytest

from amlkit.components.managed_identity import ManagedIdentity, ManagedIdentityArgs
from amlkit.components.resource_group import ResourceGroup, ResourceGroupArgs
from amlkit.components.role_assignments import RoleAssignments, RoleAssignmentsArgs
from amlkit.components.workspace_ref import RoleScopes
from amlkit.specs import IdentitySpec, RoleGrant, StackEnvironment
from amlkit.specs.identity import (
    DEFAULT_ENDPOINT_ROLES,
    FORBIDDEN_ROLE_IDS,
    ROLE_DEFINITION_IDS,
)
from tests.components.conftest import INSIGHTS_ID, REGISTRY_ID, STORAGE_ID, VAULT_ID


def test_default_endpoint_roles(render: Any, role_scopes: RoleScopes) -> None:
    def program() -> None:
        RoleAssignments(
            "ep",
            RoleAssignmentsArgs(
                principal_id="p-1", grants=DEFAULT_ENDPOINT_ROLES, scopes=role_scopes
            ),
        )

    rec = render(program)
    got = {
        r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]: r.inputs["scope"]
        for r in rec.of_type("azure-native:authorization:RoleAssignment")
    }
    assert got == {
        ROLE_DEFINITION_IDS["AcrPull"]: REGISTRY_ID,
        ROLE_DEFINITION_IDS["Storage Blob Data Reader"]: STORAGE_ID,
        ROLE_DEFINITION_IDS["Key Vault Secrets User"]: VAULT_ID,
        ROLE_DEFINITION_IDS["Monitoring Metrics Publisher"]: INSIGHTS_ID,
    }
    assert "7f951dda-4ed3-4680-a7ca-43fe172d538d" in got  # AcrPull, Azure's built-in id
    for r in rec.of_type("azure-native:authorization:RoleAssignment"):
        assert r.inputs["principalId"] == "p-1"
        assert r.inputs["principalType"] == "ServicePrincipal"
        assert r.inputs["roleDefinitionId"].startswith(
            "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/"
        )
        assert "/resourceGroups/" in r.inputs["scope"] and "/providers/" in r.inputs["scope"]
        assert r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] not in FORBIDDEN_ROLE_IDS.values()


def test_assignment_names_are_stable_guids(render: Any, role_scopes: RoleScopes) -> None:
    def program() -> None:
        RoleAssignments(
            "ep",
            RoleAssignmentsArgs(
                principal_id="p-1", grants=DEFAULT_ENDPOINT_ROLES, scopes=role_scopes
            ),
        )

    first = sorted(r.inputs["roleAssignmentName"] for r in render(program).resources if r.custom)
    second = sorted(r.inputs["roleAssignmentName"] for r in render(program).resources if r.custom)
    assert first == second and len(set(first)) == 4
    assert all(len(n) == 36 and n.count("-") == 4 for n in first)


def test_broad_roles_are_refused_even_in_code(
    render: Any, role_scopes: RoleScopes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same dict object the component reads: specs cannot name Owner, code could.
    monkeypatch.setitem(ROLE_DEFINITION_IDS, "AcrPull", FORBIDDEN_ROLE_IDS["Owner"])

    def program() -> None:
        RoleAssignments(
            "ep",
            RoleAssignmentsArgs(
                principal_id="p",
                grants=(RoleGrant(role="AcrPull", scope="container_registry"),),
                scopes=role_scopes,
            ),
        )

    with pytest.raises(ValueError, match="too broad"):
        render(program)


def test_managed_identity_gets_its_roles(
    render: Any, environment: StackEnvironment, role_scopes: RoleScopes
) -> None:
    spec = IdentitySpec(
        name="compute", roles=(RoleGrant(role="Storage Blob Data Contributor", scope="storage"),)
    )

    def program() -> None:
        group = ResourceGroup("rg", ResourceGroupArgs(environment=environment))
        ManagedIdentity(
            "identity-compute",
            ManagedIdentityArgs(
                spec=spec,
                environment=environment,
                resource_group_name=group.name,
                scopes=role_scopes,
            ),
        )

    rec = render(program)
    identity = rec.one("azure-native:managedidentity:UserAssignedIdentity")
    assert identity.inputs["resourceName"] == "id-amlkit-test-compute"
    assert identity.inputs["tags"] == {
        "owner": "ml-platform",
        "environment": "test",
        "managed-by": "amlkit",
    }
    (grant,) = rec.of_type("azure-native:authorization:RoleAssignment")
    assert grant.inputs["principalId"] == identity.outputs["principalId"]
    assert grant.inputs["roleDefinitionId"].endswith(
        ROLE_DEFINITION_IDS["Storage Blob Data Contributor"]
    )
    assert grant.inputs["scope"] == STORAGE_ID
    assert identity.urn in grant.depends_on
    group = rec.one("azure-native:resources:ResourceGroup")
    assert group.inputs["resourceGroupName"] == "rg-amlkit-test"
