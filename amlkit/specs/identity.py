"""Managed identities a stack creates, and the narrow roles each may be granted.

Least privilege is part of the model, not a policy afterthought: only the roles
an Azure ML workload needs can be named, each on one resource of the stack.
Owner, Contributor and User Access Administrator cannot be expressed at all.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import LowerCase, Spec
from .types import IdentityName

# Built-in role definition ids (Azure's "built-in roles" reference); these ids
# are the same in every Azure tenant.
ROLE_DEFINITION_IDS: dict[str, str] = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    # What the workspace's identity needs on an attached AKS cluster (Azure ML's "Attach a
    # Kubernetes cluster" doc), granted on that cluster only.
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Kubernetes Extension Contributor": "85cb6faf-e071-4c9b-8136-154b5a04f717",
    "Azure Kubernetes Service Cluster Admin Role": "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
}
"""The roles amlkit grants. Anything broader is refused by the model."""

FORBIDDEN_ROLE_IDS: dict[str, str] = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}

RoleName = Literal[
    "AcrPull",
    "Storage Blob Data Reader",
    "Storage Blob Data Contributor",
    "Key Vault Secrets User",
    "Monitoring Metrics Publisher",
    "AzureML Data Scientist",
    "Reader",
    "Kubernetes Extension Contributor",
    "Azure Kubernetes Service Cluster Admin Role",
]

# Where a role may be granted: one resource of this stack, never a subscription.
RoleScope = Literal[
    "container_registry",
    "storage",
    "key_vault",
    "workspace",
    "application_insights",
    "kubernetes_cluster",
]

# The scope each role belongs on: granting it elsewhere is a mistake or an escalation.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "AcrPull": frozenset({"container_registry"}),
    "Storage Blob Data Reader": frozenset({"storage"}),
    "Storage Blob Data Contributor": frozenset({"storage"}),
    "Key Vault Secrets User": frozenset({"key_vault"}),
    "Monitoring Metrics Publisher": frozenset({"application_insights"}),
    "AzureML Data Scientist": frozenset({"workspace"}),
    "Reader": frozenset({"kubernetes_cluster"}),
    "Kubernetes Extension Contributor": frozenset({"kubernetes_cluster"}),
    "Azure Kubernetes Service Cluster Admin Role": frozenset({"kubernetes_cluster"}),
}


class RoleGrant(Spec):
    """One role on one resource of the stack."""

    role: RoleName
    scope: RoleScope

    @model_validator(mode="after")
    def _scope_fits_role(self) -> RoleGrant:
        allowed = ROLE_SCOPES[self.role]
        if self.scope not in allowed:
            raise ValueError(
                f"role {self.role!r} belongs on {sorted(allowed)}, not on {self.scope!r}"
            )
        return self


DEFAULT_ENDPOINT_ROLES: tuple[RoleGrant, ...] = (
    RoleGrant(role="AcrPull", scope="container_registry"),
    RoleGrant(role="Storage Blob Data Reader", scope="storage"),
    RoleGrant(role="Key Vault Secrets User", scope="key_vault"),
    RoleGrant(role="Monitoring Metrics Publisher", scope="application_insights"),
)
"""What an endpoint's identity needs to pull its image, read its model, read
secrets named in environment variables and publish metrics."""

WORKSPACE_ON_KUBERNETES_ROLES: tuple[RoleGrant, ...] = (
    RoleGrant(role="Reader", scope="kubernetes_cluster"),
    RoleGrant(role="Kubernetes Extension Contributor", scope="kubernetes_cluster"),
    RoleGrant(role="Azure Kubernetes Service Cluster Admin Role", scope="kubernetes_cluster"),
)
"""What the workspace's identity holds on an attached AKS cluster (Azure ML's attach doc:
without Kubernetes Extension Contributor the attach fails "extension not installed", without
the Cluster Admin Role "internal server error"); granted before the compute is attached."""

KUBERNETES_COMPUTE_ROLES: tuple[RoleGrant, ...] = (
    RoleGrant(role="AcrPull", scope="container_registry"),
    RoleGrant(role="Storage Blob Data Reader", scope="storage"),
)
"""What a Kubernetes compute's identity needs to pull images and read models (the attach doc,
"Assign Azure roles to managed identity")."""


class IdentitySpec(Spec):
    """A user-assigned managed identity and the roles it gets."""

    name: IdentityName
    roles: Annotated[tuple[RoleGrant, ...], Field(max_length=20)] = DEFAULT_ENDPOINT_ROLES
    """Default: AcrPull on the registry, Storage Blob Data Reader on storage,
    Key Vault Secrets User on the key vault, Monitoring Metrics Publisher on App Insights."""

    @model_validator(mode="after")
    def _no_duplicate_grants(self) -> IdentitySpec:
        seen = [(g.role, g.scope) for g in self.roles]
        if len(seen) != len(set(seen)):
            raise ValueError("roles: the same role and scope is listed twice")
        return self


IdentityType = Annotated[Literal["system_assigned", "user_assigned", "none"], LowerCase]


class ResourceIdentity(Spec):
    """CLI v2 `identity:` of an endpoint or compute."""

    type: IdentityType
    user_assigned_identities: tuple[UserAssignedRef, ...] = ()

    @model_validator(mode="after")
    def _refs_match_type(self) -> ResourceIdentity:
        if self.type == "user_assigned" and not self.user_assigned_identities:
            raise ValueError("type user_assigned needs user_assigned_identities")
        if self.type != "user_assigned" and self.user_assigned_identities:
            raise ValueError(f"user_assigned_identities is set but type is {self.type!r}")
        return self


class UserAssignedRef(Spec):
    """A user-assigned identity: one of this stack's (`name`) or an existing one."""

    name: IdentityName | None = None
    """An identity of this stack's `identities:` list (amlkit extension)."""
    resource_id: str | None = None
    client_id: str | None = None
    object_id: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> UserAssignedRef:
        given = [k for k in ("name", "resource_id", "client_id", "object_id") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of name, resource_id, client_id, object_id")
        if given[0] in ("client_id", "object_id"):
            # The CLI looks the identity up; ARM's `userAssignedIdentities` takes resource ids.
            raise ValueError(
                f"{given[0]}: amlkit names a user-assigned identity by `resource_id` "
                "(/subscriptions/.../userAssignedIdentities/<name>) or by `name` of this "
                "stack's identities, as Azure's API takes resource ids"
            )
        return self


ResourceIdentity.model_rebuild()
