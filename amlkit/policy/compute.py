"""Compute that costs nothing idle and exposes nothing (rules 18 and 22)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .base import (
    COMPUTE,
    MANAGED_CLUSTER,
    MANDATORY,
    Anchor,
    explicit,
    get,
    lower,
    num,
    resource_rule,
    setting,
)


@resource_rule(
    name="aml-compute-cost-and-network",
    description="AmlCompute scales to zero after an idle timeout, stays within its node quota, "
    "and has no public node IPs or public SSH (nodes then need a subnet or the managed "
    "network, which Azure enforces); compute instances shut down when idle.",
    anchor=Anchor("checkov", "CKV_AZURE_150; azure-policy 7804b5c7, 679ddf89"),
    fix="set min_instances: 0, idle_time_before_scale_down, max_instances within maxNodeCount, "
    "enable_node_public_ip: false (with a managed network or network_settings.subnet) and no "
    "public SSH on the compute",
    level=MANDATORY,
    types=(COMPUTE,),
    config={"maxNodeCount": {"type": "integer", "minimum": 1, "default": 100}},
)
def compute_cost_network(args: ResourceValidationArgs) -> Iterator[str]:
    kind = lower(get(args.props, "properties.computeType"))
    inner = "properties.properties"
    if kind == "computeinstance":
        if get(args.props, f"{inner}.idleTimeBeforeShutdown") is None:
            yield f"{inner}.idleTimeBeforeShutdown is not set (the instance never stops)"
        return
    if kind not in (None, "amlcompute"):
        return  # Kubernetes and attached compute scale outside Azure ML
    scale = f"{inner}.scaleSettings"
    low = num(get(args.props, f"{scale}.minNodeCount"))
    if low is None:
        yield f"{scale}.minNodeCount is not set (must be 0)"
    elif low != 0:
        yield f"{scale}.minNodeCount is {low} (must be 0: idle nodes cost money)"
    if get(args.props, f"{scale}.nodeIdleTimeBeforeScaleDown") is None:
        yield f"{scale}.nodeIdleTimeBeforeScaleDown is not set"
    high = num(get(args.props, f"{scale}.maxNodeCount"))
    limit = int(setting(args, "maxNodeCount", 100))
    if high is None:
        yield f"{scale}.maxNodeCount is not set"
    elif high > limit:
        yield f"{scale}.maxNodeCount is {high} (at most {limit})"
    for key, wanted in (("enableNodePublicIp", False), ("remoteLoginPortPublicAccess", "Disabled")):
        problem = explicit(args.props, f"{inner}.{key}", wanted)
        if problem:
            yield problem


@resource_rule(
    name="aks-hardened",
    description="An AKS cluster serving Azure ML: Kubernetes RBAC with Entra integration, a "
    "private API server (or authorized IP ranges), a network policy, the Azure Policy add-on, "
    "and a managed identity. Local accounts are not demanded off: the Azure ML extension needs them.",
    anchor=Anchor(
        "checkov",
        "CKV_AZURE_5 / CKV_AZURE_6 / CKV_AZURE_7 / CKV_AZURE_115 / CKV_AZURE_116; azure-policy 993c2fcd, 040732e8, 0a15ec92, 450d2877",
    ),
    fix="set enableRBAC: true with aadProfile, apiServerAccessProfile.enablePrivateCluster: "
    "true (or authorizedIPRanges), networkProfile.networkPolicy, addonProfiles.azurepolicy."
    "enabled: true and a SystemAssigned or UserAssigned identity on the cluster",
    level=MANDATORY,
    types=(MANAGED_CLUSTER,),
)
def aks_hardened(args: ResourceValidationArgs) -> Iterator[str]:
    props = args.props
    if get(props, "enableRBAC") is not True:
        yield "enableRBAC is not true"
    if get(props, "aadProfile") is None:
        yield "aadProfile is not set (no Entra integration)"
    private = get(props, "apiServerAccessProfile.enablePrivateCluster") is True
    ranges = get(props, "apiServerAccessProfile.authorizedIPRanges") or []
    if not private and not len(ranges):
        yield "the API server is public (no private cluster, no authorized IP ranges)"
    if get(props, "networkProfile.networkPolicy") is None:
        yield "networkProfile.networkPolicy is not set"
    if get(props, "addonProfiles.azurepolicy.enabled") is not True:
        yield "addonProfiles.azurepolicy.enabled is not true"
    identity = lower(get(props, "identity.type"))
    if identity not in ("systemassigned", "userassigned"):
        yield f"identity.type is {get(props, 'identity.type')!r} (the Azure ML extension needs a managed identity)"
