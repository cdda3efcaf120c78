"""A user-assigned managed identity with the narrow roles its spec grants."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import managedidentity

from amlkit.specs.identity import IdentitySpec
from amlkit.specs.naming import Names
from amlkit.specs.stack import StackEnvironment

from .role_assignments import RoleAssignments, RoleAssignmentsArgs
from .tags import stack_tags
from .workspace_ref import RoleScopes


@dataclass(frozen=True)
class ManagedIdentityArgs:
    spec: IdentitySpec
    environment: StackEnvironment
    resource_group_name: pulumi.Input[str]
    scopes: RoleScopes


class ManagedIdentity(pulumi.ComponentResource):
    """`id-amlkit-<env>-<name>`; by default AcrPull on the registry, Storage Blob
    Data Reader on storage, Key Vault Secrets User and Monitoring Metrics Publisher."""

    id: pulumi.Output[str]
    """ARM id, for `identity.user_assigned_identities` of endpoints and clusters."""
    principal_id: pulumi.Output[str]
    client_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ManagedIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:ManagedIdentity", name, None, opts)
        env = args.environment
        identity = managedidentity.UserAssignedIdentity(
            name,
            resource_name_=Names(env).identity(args.spec.name),
            resource_group_name=args.resource_group_name,
            location=env.location,
            tags=stack_tags(env),
            opts=pulumi.ResourceOptions(parent=self),
        )
        RoleAssignments(
            f"{name}-roles",
            RoleAssignmentsArgs(
                principal_id=identity.principal_id, grants=args.spec.roles, scopes=args.scopes
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.id = identity.id
        self.principal_id = identity.principal_id
        self.client_id = identity.client_id
        self.register_outputs(
            {"id": self.id, "principal_id": self.principal_id, "client_id": self.client_id}
        )
