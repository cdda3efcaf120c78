"""Least privilege, and who may pull the scoring image (rule 10), over the whole stack."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    StackValidationArgs,
)

from .base import (
    COMPUTE,
    MANDATORY,
    ONLINE_ENDPOINT,
    ROLE_ASSIGNMENT,
    USER_ASSIGNED_IDENTITY,
    Anchor,
    Found,
    get,
    lower,
    name_of,
    of_type,
    stack_rule,
)

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
FORBIDDEN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}


def _role_id(assignment: PolicyResource) -> str:
    return str(get(assignment.props, "roleDefinitionId") or "").rsplit("/", 1)[-1].lower()


def _assigned_to(assignment: PolicyResource, holder: PolicyResource) -> bool:
    """The assignment's principal is `holder`'s identity: same principalId when both are
    known (state), else the assignment depends on `holder` (its principalId came from it)."""
    mine = get(assignment.props, "principalId")
    theirs = get(holder.props, "principalId") or get(holder.props, "identity.principalId")
    if isinstance(mine, str) and isinstance(theirs, str) and mine and theirs:
        return mine == theirs
    return holder in assignment.dependencies or holder.urn in {
        d.urn for ds in assignment.property_dependencies.values() for d in ds
    }


def _identity_ids(props: Any) -> list[str]:
    ids = get(props, "identity.userAssignedIdentities") or []
    return [str(i) for i in (ids.keys() if isinstance(ids, Mapping) else ids)]


def _pullers(resources: list[PolicyResource]) -> Iterator[tuple[str, PolicyResource | None, str]]:
    """(who, the resource holding the identity or None when outside the stack, urn) for
    every identity that pulls images: online endpoints' and compute clusters'."""
    identities = {
        (name_of(i.props, "resourceName") or "").lower(): i
        for i in of_type(resources, USER_ASSIGNED_IDENTITY)
    }
    for r in of_type(resources, ONLINE_ENDPOINT) + of_type(resources, COMPUTE):
        who = f"{r.resource_type.rsplit(':', 1)[-1]} {r.name}"
        kind = lower(get(r.props, "identity.type")) or ""
        if "systemassigned" in kind.replace(",", "").replace(" ", ""):
            yield f"{who} (system-assigned identity)", r, r.urn
        for rid in _identity_ids(r.props):
            yield (
                f"{who} (identity {rid.rsplit('/', 1)[-1]})",
                identities.get(rid.rsplit("/", 1)[-1].lower()),
                r.urn,
            )


@stack_rule(
    name="iam-least-privilege",
    description="Role assignments never grant Owner, Contributor or User Access Administrator, "
    "never at subscription scope, always to a service principal; AcrPull only on a registry; "
    "and every identity that pulls images (endpoints, compute) holds AcrPull.",
    anchor=Anchor("checkov", "CKV_AZURE_39; azure-policy a451c1ef; Azure built-in role ids"),
    fix="grant the narrow built-in role on the one resource that needs it (identities: roles: "
    "in the stack config); give every endpoint and compute identity AcrPull on the registry",
    level=MANDATORY,
)
def iam_least_privilege(args: StackValidationArgs) -> Found:
    assignments = of_type(args.resources, ROLE_ASSIGNMENT)
    for a in assignments:
        role = _role_id(a)
        scope = str(get(a.props, "scope") or "")
        if role in FORBIDDEN_ROLES:
            yield f"{a.name} grants {FORBIDDEN_ROLES[role]}", a.urn
        if not scope:
            yield f"{a.name}: scope is not set", a.urn
        elif re.fullmatch(r"/subscriptions/[^/]+/?", scope, re.IGNORECASE) or scope == "/":
            yield f"{a.name}: scope {scope!r} is a whole subscription", a.urn
        if lower(get(a.props, "principalType")) != "serviceprincipal":
            yield (
                f"{a.name}: principalType is {get(a.props, 'principalType')!r} (ServicePrincipal)",
                a.urn,
            )
        if role == ACR_PULL and "/microsoft.containerregistry/registries/" not in scope.lower():
            yield f"{a.name}: AcrPull on {scope!r}, which is not a container registry", a.urn
    pulls = [a for a in assignments if _role_id(a) == ACR_PULL]
    for who, holder, urn in _pullers(list(args.resources)):
        if holder is None:
            yield (
                f"cannot decide: {who} is not created by this stack, so its AcrPull cannot be seen",
                urn,
            )
        elif not any(_assigned_to(a, holder) for a in pulls):
            yield f"{who} has no AcrPull on the registry", urn
