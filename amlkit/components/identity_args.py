"""CLI v2 `identity:` blocks as ARM's managed service identity."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.identity import ResourceIdentity


def identity_args(
    identity: ResourceIdentity | None, identities: Mapping[str, pulumi.Input[str]]
) -> ml.ManagedServiceIdentityArgs | None:
    """CLI v2 `identity:` as ARM's managed service identity; stack identities by name."""
    if identity is None:
        return None
    if identity.type == "none":
        return ml.ManagedServiceIdentityArgs(type="None")
    if identity.type == "system_assigned":
        return ml.ManagedServiceIdentityArgs(type="SystemAssigned")
    ids: list[pulumi.Input[str]] = []
    for ref in identity.user_assigned_identities:
        if ref.name is not None:
            ids.append(identities[ref.name])
        elif ref.resource_id is not None:
            ids.append(ref.resource_id)
        else:
            raise ValueError(
                "user-assigned identities are named by `name` or `resource_id` in amlkit"
            )
    return ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=ids)
