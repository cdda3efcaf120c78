"""Least-privilege role assignments for one principal.

Each grant is one built-in data-plane role on one resource of the stack (the
narrowest scope that works), never a subscription or resource group, and never
Owner, Contributor or User Access Administrator (checkov CKV_AZURE_39, Azure
Policy a451c1ef). Role definition ids are Azure's built-in ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from amlkit.specs.identity import FORBIDDEN_ROLE_IDS, ROLE_DEFINITION_IDS, RoleGrant

from .workspace_ref import RoleScopes

_NAMESPACE = uuid.UUID("6f1c2a57-5d0e-4c2f-9a57-9d1b7a1f0a11")


@dataclass(frozen=True)
class RoleAssignmentsArgs:
    principal_id: pulumi.Input[str]
    grants: Sequence[RoleGrant]
    scopes: RoleScopes


class RoleAssignments(pulumi.ComponentResource):
    """One `RoleAssignment` per grant, for a service principal (a managed identity)."""

    ids: pulumi.Output[list[str]]
    """ARM ids of the assignments, in grant order."""

    def __init__(
        self, name: str, args: RoleAssignmentsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:RoleAssignments", name, None, opts)
        subscription = authorization.get_client_config_output().subscription_id
        assignments = []
        for grant in args.grants:
            role_id = ROLE_DEFINITION_IDS[grant.role]
            if role_id in FORBIDDEN_ROLE_IDS.values():  # defense in depth: specs cannot say it
                raise ValueError(f"role {grant.role!r} is too broad for an amlkit identity")
            key = f"{grant.role}-{grant.scope}".lower().replace(" ", "-")
            assignments.append(
                authorization.RoleAssignment(
                    f"{name}-{key}",
                    # Stable across runs: the same grant of the same component keeps its name.
                    role_assignment_name=str(uuid.uuid5(_NAMESPACE, f"{name}/{key}")),
                    principal_id=args.principal_id,
                    principal_type="ServicePrincipal",
                    role_definition_id=pulumi.Output.concat(
                        "/subscriptions/",
                        subscription,
                        "/providers/Microsoft.Authorization/roleDefinitions/",
                        role_id,
                    ),
                    scope=args.scopes.scope(grant.scope),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.ids = pulumi.Output.all(*[a.id for a in assignments]).apply(list)
        self.register_outputs({"ids": self.ids})
