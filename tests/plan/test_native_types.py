"""The walker over azure-native's input types catches what the SDK would pass and ARM
would refuse: misspelt properties, wrong types, unknown enum values, missing fields."""

from __future__ import annotations

from typing import Any

import pytest

from amlkit.plan.native_types import args_class, check_inputs

CLUSTER = "azure-native:containerservice:ManagedCluster"
EXTENSION = "azure-native:kubernetesconfiguration:Extension"

GOOD_CLUSTER: dict[str, Any] = {
    "resourceGroupName": "rg",
    "resourceName": "aks",
    "identity": {"type": "SystemAssigned"},
    "enableRBAC": True,
    "agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4s_v5", "count": 3}],
    "addonProfiles": {"azurepolicy": {"enabled": True}},
    "networkProfile": {"networkPlugin": "azure", "networkPolicy": "azure"},
}


def _kinds(problems: list[Any]) -> set[tuple[str, str]]:
    return {(p.kind, p.path) for p in problems}


def test_a_good_body_passes() -> None:
    assert check_inputs(CLUSTER, GOOD_CLUSTER) == []
    assert (
        check_inputs(
            EXTENSION,
            {
                "resourceGroupName": "rg",
                "clusterRp": "Microsoft.ContainerService",
                "clusterResourceName": "managedClusters",
                "clusterName": "aks",
                "extensionType": "Microsoft.AzureML.Kubernetes",
                "scope": {"cluster": {"releaseNamespace": "azureml"}},
                "configurationSettings": {"enableInference": "True"},
                "configurationProtectedSettings": "[secret]",
            },
        )
        == []
    )


@pytest.mark.parametrize(
    ("change", "kind", "path"),
    [
        (lambda b: b.update(enableRbac=True), "unknown-property", "enableRbac"),
        (lambda b: b["identity"].update(type="ServicePrincipal"), "unknown-enum", "identity.type"),
        (
            lambda b: b["agentPoolProfiles"][0].update(count="3"),
            "wrong-type",
            "agentPoolProfiles[0].count",
        ),
        (
            lambda b: b["agentPoolProfiles"][0].pop("name"),
            "missing-required",
            "agentPoolProfiles[0].name",
        ),
        (
            lambda b: b["networkProfile"].update(networkPolicy="flannel"),
            "unknown-enum",
            "networkProfile.networkPolicy",
        ),
        (
            lambda b: b["addonProfiles"]["azurepolicy"].update(enabled="true"),
            "wrong-type",
            "addonProfiles.azurepolicy.enabled",
        ),
        (lambda b: b.pop("resourceGroupName"), "missing-required", "resourceGroupName"),
    ],
)
def test_planted_faults_are_found(change: Any, kind: str, path: str) -> None:
    body = {
        **GOOD_CLUSTER,
        "identity": dict(GOOD_CLUSTER["identity"]),
        "agentPoolProfiles": [dict(GOOD_CLUSTER["agentPoolProfiles"][0])],
        "addonProfiles": {"azurepolicy": {"enabled": True}},
        "networkProfile": dict(GOOD_CLUSTER["networkProfile"]),
    }
    change(body)
    assert (kind, path) in _kinds(check_inputs(CLUSTER, body))


def test_enum_values_match_without_regard_to_case() -> None:
    assert check_inputs(CLUSTER, {**GOOD_CLUSTER, "identity": {"type": "systemassigned"}}) == []


def test_the_closest_name_is_suggested() -> None:
    (problem,) = check_inputs(CLUSTER, {**GOOD_CLUSTER, "enableRbac": True})
    assert "'enableRBAC' (did you mean it?)" in problem.allowed


def test_only_azure_native_types_are_walked() -> None:
    assert args_class("kubernetes:core/v1:Namespace") is None
    assert check_inputs("kubernetes:core/v1:Namespace", {"whatever": 1}) == []
    # a resource whose Args name clashes with a nested type
    found = args_class("azure-native:monitor:ActionGroup")
    assert found is not None and found.__name__ == "ActionGroupInitArgs"
