"""Deletion protection, locations, tags and identities (rules 20 and 25)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .base import (
    ADVISORY,
    CONTAINER_REGISTRY,
    KEY_VAULT,
    LOG_ANALYTICS,
    MANDATORY,
    ML_REGISTRY,
    STORAGE_ACCOUNT,
    WORKSPACE,
    Anchor,
    get,
    lower,
    resource_rule,
    setting,
)

STATEFUL = (WORKSPACE, KEY_VAULT, STORAGE_ACCOUNT, CONTAINER_REGISTRY, LOG_ANALYTICS, ML_REGISTRY)


@resource_rule(
    name="stateful-resources-protected",
    description="Resources that hold models, secrets, images or audit logs (workspace, key "
    "vault, storage, container registry, Log Analytics, Azure ML registry) are protected "
    "from `pulumi destroy` and replacement.",
    anchor=Anchor("pulumi", "https://www.pulumi.com/docs/iac/concepts/options/protect/"),
    fix="set environment.protect: true in the stack config",
    level=MANDATORY,
    types=STATEFUL,
)
def stateful_protected(args: ResourceValidationArgs) -> Iterator[str]:
    if not args.opts.protect:
        yield f"{args.resource_type.rsplit(':', 1)[-1]} {args.name} is not protected"


_GLOBAL = {"global"}
REQUIRED_TAGS = ["owner", "environment", "cost-center"]


@resource_rule(
    name="governance-location-tags-identity",
    description="Resources sit in allowed locations and carry the required tags; the workspace "
    "uses a user-assigned identity and a customer-managed key where configured.",
    anchor=Anchor(
        "azure-policy",
        "e56962a6-4747-49cd-b67b-bf8b01975c4c (locations) / 5f0c7d88 (UAI) / ba769a63 (CMK)",
    ),
    fix="set environment.location and environment.tags (owner, environment, cost-center) in the "
    "stack config; give the workspace a user-assigned identity or a CMK where the pack config "
    "asks for one",
    level=ADVISORY,
    types=(),
    applies=lambda resource_type: _tracked(resource_type),
    config={
        "allowedLocations": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Azure regions resources may use; empty: any.",
        },
        "requiredTags": {
            "type": "array",
            "items": {"type": "string"},
            "default": REQUIRED_TAGS,
        },
        "requireUserAssignedWorkspaceIdentity": {"type": "boolean", "default": True},
        "requireCustomerManagedKey": {"type": "boolean", "default": False},
    },
)
def governance(args: ResourceValidationArgs) -> Iterator[str]:
    props = args.props
    location = get(props, "location")
    allowed = [a.lower() for a in setting(args, "allowedLocations", [])]
    if isinstance(location, str) and allowed and location.lower() not in {*allowed, *_GLOBAL}:
        yield f"location {location!r} is not allowed (allowed: {', '.join(allowed)})"
    tags = get(props, "tags") or {}
    missing = [t for t in setting(args, "requiredTags", REQUIRED_TAGS) if t not in tags]
    if missing:
        yield f"tags {', '.join(missing)} are missing"
    if args.resource_type != WORKSPACE:
        return
    if setting(args, "requireUserAssignedWorkspaceIdentity", True):
        kinds = lower(get(props, "identity.type")) or ""
        if "userassigned" not in kinds.replace(",", "").replace(" ", ""):
            yield f"identity.type is {get(props, 'identity.type')!r} (a user-assigned identity is wanted)"
        elif get(props, "primaryUserAssignedIdentity") is None:
            yield "primaryUserAssignedIdentity is not set"
    if (
        setting(args, "requireCustomerManagedKey", False)
        and lower(get(props, "encryption.status")) != "enabled"
    ):
        yield "encryption.status is not Enabled (no customer-managed key)"


def _tracked(resource_type: str) -> bool:
    """Azure resources that take a location and tags (not sub-resources or role assignments)."""
    return resource_type.startswith("azure-native:") and resource_type.split(":")[2] in _TRACKED


_TRACKED = {
    "ResourceGroup",
    "Workspace",
    "Registry",
    "Vault",
    "StorageAccount",
    "Component",
    "UserAssignedIdentity",
    "OnlineEndpoint",
    "OnlineDeployment",
    "BatchEndpoint",
    "BatchDeployment",
    "Compute",
    "ActionGroup",
    "MetricAlert",
    "AutoscaleSetting",
    "ManagedCluster",
}
