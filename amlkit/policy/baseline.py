"""The security baseline checkov and Azure Policy both encode (rules 8, 9, 11, 12)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .base import (
    COMPUTE,
    CONTAINER_REGISTRY,
    KEY_VAULT,
    MANDATORY,
    STORAGE_ACCOUNT,
    WORKSPACE,
    Anchor,
    explicit,
    get,
    lower,
    resource_rule,
)

# Kubernetes computes and attached VMs have no Azure ML local auth of their own.
_LOCAL_AUTH_COMPUTE = {"amlcompute", "computeinstance"}


@resource_rule(
    name="aml-compute-local-auth-disabled",
    description="AmlCompute clusters and compute instances authenticate with Microsoft Entra "
    "only (disableLocalAuth true).",
    anchor=Anchor("azure-policy", "e96a9a5f (CKV_AZURE_142)"),
    fix="leave out the cluster's ssh_settings (an admin account on the nodes turns local auth "
    "on, as in az ml); amlkit's ComputeCluster then sends disableLocalAuth: true",
    level=MANDATORY,
    types=(COMPUTE,),
)
def compute_local_auth(args: ResourceValidationArgs) -> Iterator[str]:
    kind = lower(get(args.props, "properties.computeType"))
    if kind is not None and kind not in _LOCAL_AUTH_COMPUTE:
        return
    problem = explicit(args.props, "properties.disableLocalAuth", True)
    if problem:
        yield problem


@resource_rule(
    name="acr-admin-and-anonymous-pull-disabled",
    description="The container registry has no admin user and no anonymous pull: images are "
    "pulled with Entra identities holding AcrPull.",
    anchor=Anchor("checkov", "CKV_AZURE_137 / CKV_AZURE_138; azure-policy dc921057, 9f2dea28"),
    fix="set adminUserEnabled: false and anonymousPullEnabled: false on the registry, and grant "
    "AcrPull to the identities that pull",
    level=MANDATORY,
    types=(CONTAINER_REGISTRY,),
)
def acr_admin_disabled(args: ResourceValidationArgs) -> Iterator[str]:
    for key in ("adminUserEnabled", "anonymousPullEnabled"):
        problem = explicit(args.props, key, False)
        if problem:
            yield problem


@resource_rule(
    name="key-vault-recoverable",
    description="The key vault keeps deleted secrets (soft delete), cannot be purged early "
    "(purge protection) and uses Azure RBAC instead of access policies.",
    anchor=Anchor(
        "checkov",
        "CKV_AZURE_110 / CKV_AZURE_111 / CKV_AZURE_42; azure-policy 0b60c0b2, 1e66c121, 12d4fa5e",
    ),
    fix="set properties.enableSoftDelete, enablePurgeProtection and enableRbacAuthorization "
    "to true on the vault",
    level=MANDATORY,
    types=(KEY_VAULT,),
)
def key_vault_recoverable(args: ResourceValidationArgs) -> Iterator[str]:
    for key in ("enableSoftDelete", "enablePurgeProtection", "enableRbacAuthorization"):
        problem = explicit(args.props, f"properties.{key}", True)
        if problem:
            yield problem


@resource_rule(
    name="storage-no-public-or-key-access",
    description="Storage allows no public blobs and no shared keys, TLS 1.2 and HTTPS only; "
    "the workspace reaches its datastores with its identity (systemDatastoresAuthMode identity).",
    anchor=Anchor(
        "checkov",
        "CKV_AZURE_190 / CKV_AZURE_44 / CKV_AZURE_3 / CKV2_AZURE_40 / CKV2_AZURE_47; azure-policy 4fa4b6c0, 8c6a50c6, fe83a0eb, 404c3081",
    ),
    fix="set workspace.storage.allow_shared_key_access: false in the stack config (amlkit then "
    "sets systemDatastoresAuthMode identity); blob public access off, TLS1_2 and HTTPS only",
    level=MANDATORY,
    types=(STORAGE_ACCOUNT, WORKSPACE),
)
def storage_no_public_or_key_access(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type == WORKSPACE:
        problem = explicit(args.props, "systemDatastoresAuthMode", "identity")
        if problem:
            yield problem
        return
    wanted = {
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
        "minimumTlsVersion": "TLS1_2",
        "enableHttpsTrafficOnly": True,
    }
    for key, value in wanted.items():
        problem = explicit(args.props, key, value)
        if problem:
            yield problem
