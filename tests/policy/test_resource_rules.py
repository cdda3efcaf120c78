"""Each resource rule with a compliant resource, a violating one, one missing the
property it reads, and a resource of another type; plus unknown values."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from amlkit.policy import BY_NAME, ResourceRule
from amlkit.policy.base import (
    BATCH_ENDPOINT,
    COMPUTE,
    CONTAINER_REGISTRY,
    DOCKER_IMAGE,
    ENVIRONMENT_VERSION,
    K8S_DEPLOYMENT,
    KEY_VAULT,
    LOG_ANALYTICS,
    MANAGED_CLUSTER,
    ONLINE_DEPLOYMENT,
    ONLINE_ENDPOINT,
    STORAGE_ACCOUNT,
    WORKSPACE,
)
from tests.conftest import ROOT
from tests.policy.conftest import UNKNOWN, problems, resource_args

TAGS = {"owner": "ml-platform", "environment": "prod", "cost-center": "ml"}
WS_ID = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/mlw"
)
DIGEST = "sha256:" + "ab" * 32

WORKSPACE_OK: dict[str, Any] = {
    "workspaceName": "mlw-amlkit-prod",
    "location": "westeurope",
    "tags": TAGS,
    "publicNetworkAccess": "Disabled",
    "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"},
    "systemDatastoresAuthMode": "identity",
    "identity": {"type": "UserAssigned", "userAssignedIdentities": ["/id/ws"]},
    "primaryUserAssignedIdentity": "/id/ws",
}
REGISTRY_OK: dict[str, Any] = {
    "registryName": "cramlkit",
    "location": "westeurope",
    "tags": TAGS,
    "sku": {"name": "Premium"},
    "adminUserEnabled": False,
    "anonymousPullEnabled": False,
    "publicNetworkAccess": "Disabled",
}
VAULT_OK: dict[str, Any] = {
    "vaultName": "kv",
    "properties": {
        "enableSoftDelete": True,
        "enablePurgeProtection": True,
        "enableRbacAuthorization": True,
    },
}
STORAGE_OK: dict[str, Any] = {
    "accountName": "st",
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
    "minimumTlsVersion": "TLS1_2",
    "enableHttpsTrafficOnly": True,
}
COMPUTE_OK: dict[str, Any] = {
    "computeName": "cpu-cluster",
    "location": "westeurope",
    "tags": TAGS,
    "properties": {
        "computeType": "AmlCompute",
        "disableLocalAuth": True,
        "properties": {
            "scaleSettings": {
                "minNodeCount": 0,
                "maxNodeCount": 8,
                "nodeIdleTimeBeforeScaleDown": "PT10M",
            },
            "enableNodePublicIp": False,
            "remoteLoginPortPublicAccess": "Disabled",
        },
    },
}
ENDPOINT_OK: dict[str, Any] = {
    "endpointName": "amlkit-prod-score",
    "kind": "Managed",
    "location": "westeurope",
    "tags": TAGS,
    "properties": {"authMode": "AADToken"},
}
DEPLOYMENT_OK: dict[str, Any] = {
    "deploymentName": "blue",
    "endpointName": "amlkit-prod-score",
    "workspaceName": "mlw",
    "kind": "Managed",
    "location": "westeurope",
    "tags": TAGS,
    "sku": {"name": "Default", "capacity": 3},
    "properties": {
        "endpointComputeType": "Managed",
        "environmentId": f"{WS_ID}/environments/amlkit-scoring/versions/ab12",
        "model": f"{WS_ID}/models/classifier/versions/3",
        "livenessProbe": {"period": "PT10S"},
        "readinessProbe": {"period": "PT10S"},
        "requestSettings": {"requestTimeout": "PT3S", "maxConcurrentRequestsPerInstance": 8},
        "appInsightsEnabled": True,
    },
}
K8S_DEPLOYMENT_OK: dict[str, Any] = {
    **DEPLOYMENT_OK,
    "kind": "Kubernetes",
    "properties": {
        **DEPLOYMENT_OK["properties"],
        "endpointComputeType": "Kubernetes",
        "containerResourceRequirements": {
            "containerResourceRequests": {"cpu": "1", "memory": "2Gi"},
            "containerResourceLimits": {"cpu": "2", "memory": "4Gi"},
        },
    },
}
POD_OK: dict[str, Any] = {
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "score",
                        "securityContext": {
                            "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                        },
                        "resources": {
                            "requests": {"cpu": "1", "memory": "1Gi"},
                            "limits": {"cpu": "1", "memory": "1Gi"},
                        },
                    }
                ]
            }
        }
    }
}
AKS_OK: dict[str, Any] = {
    "location": "westeurope",
    "tags": TAGS,
    "enableRBAC": True,
    "aadProfile": {"managed": True},
    "apiServerAccessProfile": {"enablePrivateCluster": True},
    "networkProfile": {"networkPolicy": "azure"},
    "addonProfiles": {"azurepolicy": {"enabled": True}},
    "identity": {"type": "SystemAssigned"},
}
LOGS_OK: dict[str, Any] = {"retentionInDays": 90, "features": {"disableLocalAuth": True}}
ENVIRONMENT_OK: dict[str, Any] = {
    "properties": {"image": f"cramlkit.azurecr.io/amlkit/scoring@{DIGEST}"}
}
DOCKER_OK: dict[str, Any] = {"dockerfile": {"location": str(ROOT / "runtime-image" / "Dockerfile")}}


def changed(base: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of `base` with `dotted` set to `value`, or removed when value is DROP."""
    out = copy.deepcopy(base)
    node = out
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    if value is DROP:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return out


DROP: Any = object()


@dataclass(frozen=True)
class Case:
    rule: str
    typ: str
    compliant: dict[str, Any]
    violating: dict[str, Any]
    expect: str
    """A fragment of the violating resource's problem."""
    missing: dict[str, Any]
    missing_expect: str | None
    """A fragment of the problem for the missing property; None: missing is compliant."""
    config: dict[str, Any] = field(default_factory=dict)
    protect: bool = False


CASES = [
    Case(
        "aml-names",
        ONLINE_ENDPOINT,
        ENDPOINT_OK,
        changed(ENDPOINT_OK, "endpointName", "9-starts-with-a-digit"),
        "does not match",
        changed(ENDPOINT_OK, "endpointName", DROP),
        "endpointName is not set",
    ),
    Case(
        "aml-workspace-public-access",
        WORKSPACE,
        WORKSPACE_OK,
        changed(WORKSPACE_OK, "publicNetworkAccess", "Enabled"),
        "publicNetworkAccess is 'Enabled'",
        changed(WORKSPACE_OK, "publicNetworkAccess", DROP),
        "publicNetworkAccess is not set",
    ),
    Case(
        "aml-workspace-network-isolation",
        WORKSPACE,
        WORKSPACE_OK,
        changed(WORKSPACE_OK, "managedNetwork.isolationMode", "Disabled"),
        "isolationMode is 'Disabled'",
        changed(WORKSPACE_OK, "managedNetwork", DROP),
        "isolationMode is not set",
    ),
    Case(
        "aml-endpoint-token-auth",
        ONLINE_ENDPOINT,
        ENDPOINT_OK,
        changed(ENDPOINT_OK, "properties.authMode", "Key"),
        "authMode is 'Key'",
        changed(ENDPOINT_OK, "properties.authMode", DROP),
        "Azure's default for online endpoints is Key",
    ),
    Case(
        "aml-compute-local-auth-disabled",
        COMPUTE,
        COMPUTE_OK,
        changed(COMPUTE_OK, "properties.disableLocalAuth", False),
        "disableLocalAuth is False",
        changed(COMPUTE_OK, "properties.disableLocalAuth", DROP),
        "disableLocalAuth is not set",
    ),
    Case(
        "acr-admin-and-anonymous-pull-disabled",
        CONTAINER_REGISTRY,
        REGISTRY_OK,
        changed(REGISTRY_OK, "adminUserEnabled", True),
        "adminUserEnabled is True",
        changed(REGISTRY_OK, "anonymousPullEnabled", DROP),
        "anonymousPullEnabled is not set",
    ),
    Case(
        "key-vault-recoverable",
        KEY_VAULT,
        VAULT_OK,
        changed(VAULT_OK, "properties.enablePurgeProtection", False),
        "enablePurgeProtection is False",
        changed(VAULT_OK, "properties.enableRbacAuthorization", DROP),
        "enableRbacAuthorization is not set",
    ),
    Case(
        "storage-no-public-or-key-access",
        STORAGE_ACCOUNT,
        STORAGE_OK,
        changed(STORAGE_OK, "allowSharedKeyAccess", True),
        "allowSharedKeyAccess is True",
        changed(STORAGE_OK, "minimumTlsVersion", DROP),
        "minimumTlsVersion is not set",
    ),
    Case(
        "image-pinned-by-digest",
        ENVIRONMENT_VERSION,
        ENVIRONMENT_OK,
        changed(ENVIRONMENT_OK, "properties.image", "cramlkit.azurecr.io/amlkit/scoring:latest"),
        "is not pinned by digest",
        changed(ENVIRONMENT_OK, "properties.image", DROP),
        "properties.image is not set",
    ),
    Case(
        "aml-deployment-probes",
        ONLINE_DEPLOYMENT,
        DEPLOYMENT_OK,
        changed(DEPLOYMENT_OK, "properties.requestSettings.requestTimeout", "PT181S"),
        "exceeds 180 s",
        changed(DEPLOYMENT_OK, "properties.readinessProbe", DROP),
        "readinessProbe is not set",
    ),
    Case(
        "aml-deployment-capacity",
        ONLINE_DEPLOYMENT,
        DEPLOYMENT_OK,
        changed(DEPLOYMENT_OK, "sku.capacity", 1),
        "sku.capacity is 1 (at least 2)",
        changed(DEPLOYMENT_OK, "sku", DROP),
        "sku.capacity is not set",
    ),
    Case(
        "log-analytics-retention",
        LOG_ANALYTICS,
        LOGS_OK,
        changed(LOGS_OK, "retentionInDays", 30),
        "retentionInDays is 30 (at least 90)",
        changed(LOGS_OK, "retentionInDays", DROP),
        "retentionInDays is not set",
    ),
    Case(
        "aml-compute-cost-and-network",
        COMPUTE,
        COMPUTE_OK,
        changed(COMPUTE_OK, "properties.properties.scaleSettings.minNodeCount", 2),
        "minNodeCount is 2",
        changed(COMPUTE_OK, "properties.properties.enableNodePublicIp", DROP),
        "enableNodePublicIp is not set",
    ),
    Case(
        "acr-network-restricted",
        CONTAINER_REGISTRY,
        REGISTRY_OK,
        changed(REGISTRY_OK, "publicNetworkAccess", "Enabled"),
        "publicNetworkAccess is 'Enabled'",
        changed(REGISTRY_OK, "sku", DROP),
        "sku.name is None",
    ),
    Case(
        "stateful-resources-protected",
        KEY_VAULT,
        VAULT_OK,
        VAULT_OK,
        "is not protected",
        {},  # protect is an option, never missing: unprotected is the default
        "is not protected",
        protect=True,
    ),
    Case(
        "aks-hardened",
        MANAGED_CLUSTER,
        AKS_OK,
        changed(AKS_OK, "apiServerAccessProfile.enablePrivateCluster", False),
        "the API server is public",
        changed(AKS_OK, "networkProfile", DROP),
        "networkPolicy is not set",
    ),
    Case(
        "kubernetes-deployment-hardened",
        ONLINE_DEPLOYMENT,
        K8S_DEPLOYMENT_OK,
        changed(
            K8S_DEPLOYMENT_OK,
            "properties.containerResourceRequirements.containerResourceLimits.memory",
            DROP,
        ),
        "containerResourceLimits.memory is not set",
        changed(K8S_DEPLOYMENT_OK, "properties.containerResourceRequirements", DROP),
        "containerResourceRequests.cpu is not set",
    ),
    Case(
        "aml-model-source",
        ONLINE_DEPLOYMENT,
        DEPLOYMENT_OK,
        changed(
            DEPLOYMENT_OK, "properties.model", "azureml://registries/someone/models/m/versions/1"
        ),
        "comes from registry 'someone'",
        changed(DEPLOYMENT_OK, "properties.model", DROP),
        None,  # no model asset: the image carries it (image-pinned-by-digest covers that)
    ),
    Case(
        "governance-location-tags-identity",
        WORKSPACE,
        WORKSPACE_OK,
        changed(WORKSPACE_OK, "identity", {"type": "SystemAssigned"}),
        "a user-assigned identity is wanted",
        changed(WORKSPACE_OK, "tags", DROP),
        "tags owner, environment, cost-center are missing",
        config={"allowedLocations": ["westeurope"]},
    ),
]

RESOURCE_RULES = [r for r in BY_NAME.values() if isinstance(r, ResourceRule)]


def test_every_resource_rule_has_a_case() -> None:
    assert {c.rule for c in CASES} == {r.name for r in RESOURCE_RULES}


def _rule(case: Case) -> ResourceRule:
    rule = BY_NAME[case.rule]
    assert isinstance(rule, ResourceRule)
    return rule


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_compliant(case: Case) -> None:
    args = resource_args(case.typ, case.compliant, protect=case.protect, config=case.config)
    assert problems(_rule(case), args) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_violating(case: Case) -> None:
    args = resource_args(case.typ, case.violating, config=case.config)
    found = problems(_rule(case), args)
    assert any(case.expect in p for p in found), found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_missing_property(case: Case) -> None:
    args = resource_args(case.typ, case.missing, config=case.config)
    found = problems(_rule(case), args)
    if case.missing_expect is None:
        assert found == []
    else:
        assert any(case.missing_expect in p for p in found), found


OTHER_TYPE = "azure-native:network:VirtualNetwork"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_other_type_is_not_checked(case: Case) -> None:
    # The violating props, on a type the rule does not read: nothing to report.
    args = resource_args(OTHER_TYPE, case.violating, config=case.config)
    assert problems(_rule(case), args) == []
    assert not _rule(case).applies_to(OTHER_TYPE)


# stateful-resources-protected reads a resource option, which is never unknown.
READS_INPUTS = [c for c in CASES if c.rule != "stateful-resources-protected"]


@pytest.mark.parametrize("case", READS_INPUTS, ids=lambda c: c.rule)
def test_unknown_value_cannot_decide(case: Case) -> None:
    """A value known only after deploy is a problem, never a silent pass."""
    props = copy.deepcopy(case.compliant)
    # Make every leaf the rule reads unknown: replace all top-level values.
    unknown = {k: UNKNOWN for k in props}
    found = problems(_rule(case), resource_args(case.typ, unknown, config=case.config))
    assert found and any(p.startswith("cannot decide: the ") for p in found), found
    assert "can't be known during preview" in " ".join(found)


# -- details each rule promises ---------------------------------------------------------


def test_key_auth_waiver() -> None:
    rule = BY_NAME["aml-endpoint-token-auth"]
    keyed = changed(ENDPOINT_OK, "properties.authMode", "Key")
    waived = resource_args(ONLINE_ENDPOINT, keyed, config={"allowKeyAuth": ["amlkit-prod-score"]})
    assert problems(rule, waived) == []
    batch = resource_args(BATCH_ENDPOINT, changed(ENDPOINT_OK, "properties.authMode", "Key"))
    assert problems(rule, batch)


def test_kubernetes_names_total_and_timeout_ceiling() -> None:
    k8s = changed(K8S_DEPLOYMENT_OK, "endpointName", "e" * 32)
    k8s = changed(k8s, "deploymentName", "d" * 31)
    found = problems(BY_NAME["aml-names"], resource_args(ONLINE_DEPLOYMENT, k8s))
    assert any("total 63 characters (allowed 6-62)" in p for p in found), found
    slow = changed(K8S_DEPLOYMENT_OK, "properties.requestSettings.requestTimeout", "PT4M")
    assert problems(BY_NAME["aml-deployment-probes"], resource_args(ONLINE_DEPLOYMENT, slow)) == []
    slower = changed(K8S_DEPLOYMENT_OK, "properties.requestSettings.requestTimeout", "PT301S")
    assert problems(BY_NAME["aml-deployment-probes"], resource_args(ONLINE_DEPLOYMENT, slower))


def test_a_wrong_type_is_reported_not_raised() -> None:
    """ "3" where Azure wants a number: the rule cannot decide, and says so."""
    rule = BY_NAME["aml-deployment-capacity"]
    assert isinstance(rule, ResourceRule)
    found = problems(
        rule, resource_args(ONLINE_DEPLOYMENT, changed(DEPLOYMENT_OK, "sku.capacity", "3"))
    )
    assert len(found) == 1 and found[0].startswith("cannot decide: a value has a type"), found
    assert "expected a number, got str '3'" in found[0]


def test_capacity_surge_against_quota() -> None:
    rule = BY_NAME["aml-deployment-capacity"]
    ten = changed(DEPLOYMENT_OK, "sku.capacity", 10)
    assert problems(rule, resource_args(ONLINE_DEPLOYMENT, ten, config={"instanceQuota": 12})) == []
    found = problems(rule, resource_args(ONLINE_DEPLOYMENT, ten, config={"instanceQuota": 11}))
    assert found == ["10 instances plus Azure's 20% upgrade surge exceed the quota of 11"]


def test_deployment_environment_must_name_a_version() -> None:
    rule = BY_NAME["image-pinned-by-digest"]
    latest = changed(DEPLOYMENT_OK, "properties.environmentId", "azureml:amlkit-scoring@latest")
    assert problems(rule, resource_args(ONLINE_DEPLOYMENT, latest)) == [
        "properties.environmentId 'azureml:amlkit-scoring@latest' follows the latest version"
    ]
    pinned = changed(DEPLOYMENT_OK, "properties.environmentId", "azureml:amlkit-scoring:3")
    assert problems(rule, resource_args(ONLINE_DEPLOYMENT, pinned)) == []


def test_pod_security_and_dockerfile() -> None:
    rule = BY_NAME["kubernetes-deployment-hardened"]
    assert problems(rule, resource_args(K8S_DEPLOYMENT, POD_OK)) == []
    root = copy.deepcopy(POD_OK)
    root["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {}
    found = problems(rule, resource_args(K8S_DEPLOYMENT, root))
    assert found == [
        "container score: runAsNonRoot is not true",
        "container score: allowPrivilegeEscalation is not false",
        "container score: readOnlyRootFilesystem is not true",
    ]
    # The shipped Dockerfile ends as USER 10001 with a HEALTHCHECK.
    assert problems(rule, resource_args(DOCKER_IMAGE, DOCKER_OK)) == []
    # Managed deployments: Azure runs the pods, nothing to check.
    assert problems(rule, resource_args(ONLINE_DEPLOYMENT, DEPLOYMENT_OK)) == []


def test_dockerfile_as_root_without_healthcheck(tmp_path: Any) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text('FROM python:3.11-slim\nUSER app\nUSER root\nCMD ["x"]\n')
    rule = BY_NAME["kubernetes-deployment-hardened"]
    found = problems(
        rule, resource_args(DOCKER_IMAGE, {"dockerfile": {"location": str(dockerfile)}})
    )
    assert found == [
        f"{dockerfile}: the final USER is 'root' (root)",
        f"{dockerfile}: no HEALTHCHECK instruction",
    ]
    gone = problems(
        rule, resource_args(DOCKER_IMAGE, {"dockerfile": {"location": "nowhere/Dockerfile"}})
    )
    assert gone == ["cannot decide: Dockerfile 'nowhere/Dockerfile' is not readable from here"]


def test_protect_reads_the_option() -> None:
    rule = BY_NAME["stateful-resources-protected"]
    assert problems(rule, resource_args(WORKSPACE, WORKSPACE_OK, protect=True)) == []
    assert problems(rule, resource_args(WORKSPACE, WORKSPACE_OK, name="ws")) == [
        "Workspace ws is not protected"
    ]


def test_location_not_allowed_and_global_is() -> None:
    rule = BY_NAME["governance-location-tags-identity"]
    assert isinstance(rule, ResourceRule)
    config = {"allowedLocations": ["westeurope"], "requireUserAssignedWorkspaceIdentity": False}
    far = changed(ENDPOINT_OK, "location", "eastasia")
    assert problems(rule, resource_args(ONLINE_ENDPOINT, far, config=config)) == [
        "location 'eastasia' is not allowed (allowed: westeurope)"
    ]
    alert = {"location": "global", "tags": TAGS}
    typ = "azure-native:monitor:MetricAlert"
    assert problems(rule, resource_args(typ, alert, config=config)) == []
    # Sub-resources without tags of their own (a blob) are not checked.
    assert not rule.applies_to("azure-native:storage:Blob")


def test_kubernetes_container_images_pinned() -> None:
    rule = BY_NAME["image-pinned-by-digest"]
    pinned = copy.deepcopy(POD_OK)
    container = pinned["spec"]["template"]["spec"]["containers"][0]
    container["image"] = f"cramlkit.azurecr.io/amlkit/scoring@{DIGEST}"
    assert problems(rule, resource_args(K8S_DEPLOYMENT, pinned)) == []
    container["image"] = "nginx:latest"
    assert problems(rule, resource_args(K8S_DEPLOYMENT, pinned)) == [
        "container score image 'nginx:latest' is not pinned by digest (@sha256:...)",
        "container score image 'nginx:latest' does not come from an allowed registry (.azurecr.io)",
    ]
