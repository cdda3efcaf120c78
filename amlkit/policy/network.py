"""Who can reach the workspace and its registry (rules 5, 6 and 19)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .base import (
    CONTAINER_REGISTRY,
    MANDATORY,
    WORKSPACE,
    Anchor,
    explicit,
    get,
    lower,
    resource_rule,
    setting,
)


@resource_rule(
    name="aml-workspace-public-access",
    description="The Azure ML workspace is not reachable from the public internet "
    "(publicNetworkAccess Disabled).",
    anchor=Anchor("azure-policy", "438c38d2 (CKV_AZURE_144, CKV2_AZURE_49)"),
    fix="set workspace.public_network_access: disabled in the stack config and reach the "
    "workspace through its private endpoint",
    level=MANDATORY,
    types=(WORKSPACE,),
)
def workspace_public_access(args: ResourceValidationArgs) -> Iterator[str]:
    problem = explicit(args.props, "publicNetworkAccess", "Disabled")
    if problem:
        yield problem


_ISOLATED = {"allowonlyapprovedoutbound", "allowinternetoutbound"}


@resource_rule(
    name="aml-workspace-network-isolation",
    description="The workspace runs in a managed virtual network "
    "(managedNetwork.isolationMode AllowOnlyApprovedOutbound or AllowInternetOutbound); Azure "
    "then creates the private endpoints to the workspace's own storage, key vault and registry.",
    anchor=Anchor("azure-policy", "6ddb1705 / 45e05259 (CKV_AZURE_243)"),
    fix="set workspace.managed_network.isolation_mode: allow_only_approved_outbound",
    level=MANDATORY,
    types=(WORKSPACE,),
)
def workspace_network_isolation(args: ResourceValidationArgs) -> Iterator[str]:
    mode = get(args.props, "managedNetwork.isolationMode")
    if mode is None:
        yield "managedNetwork.isolationMode is not set (Azure's default is Disabled)"
    elif lower(mode) not in _ISOLATED:
        yield f"managedNetwork.isolationMode is {mode!r} (allowed: AllowOnlyApprovedOutbound, AllowInternetOutbound)"


@resource_rule(
    name="acr-network-restricted",
    description="The container registry is not open to the internet: publicNetworkAccess "
    "Disabled or networkRuleSet.defaultAction Deny, on the Premium SKU.",
    anchor=Anchor("checkov", "CKV_AZURE_139 / CKV_AZURE_163; azure-policy 0fdf0491, d0793b48"),
    fix="set workspace.container_registry.sku: Premium and public_network_access: disabled",
    level=MANDATORY,
    types=(CONTAINER_REGISTRY,),
    config={
        "requirePremium": {
            "type": "boolean",
            "default": True,
            "description": "Premium is the only SKU with private endpoints and network rules.",
        }
    },
)
def acr_network_restricted(args: ResourceValidationArgs) -> Iterator[str]:
    public = lower(get(args.props, "publicNetworkAccess"))
    default_action = lower(get(args.props, "networkRuleSet.defaultAction"))
    if public != "disabled" and default_action != "deny":
        yield (
            f"publicNetworkAccess is {get(args.props, 'publicNetworkAccess')!r} and "
            f"networkRuleSet.defaultAction is {get(args.props, 'networkRuleSet.defaultAction')!r} "
            "(need Disabled, or Deny)"
        )
    sku = get(args.props, "sku.name")
    if setting(args, "requirePremium", True) and lower(sku) != "premium":
        yield f"sku.name is {sku!r} (Premium is needed for private access)"
