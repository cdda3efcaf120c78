"""The AKS cluster: hardened as the pack asks, a managed identity and never a service
principal, Azure ML's node sizes, Trusted Access for the workspace, and a kubeconfig
that stays secret; an existing cluster by ARM id."""

from __future__ import annotations

from typing import Any

import pulumi
import yaml

from amlkit.components.kubernetes_cluster import (
    MLWORKLOAD_ROLE,
    KubernetesCluster,
    KubernetesClusterArgs,
)
from amlkit.plan.mock_engine import Recording
from amlkit.plan.native_types import check_inputs
from amlkit.policy.compute import aks_hardened
from amlkit.specs import StackEnvironment
from amlkit.specs.kubernetes_cluster import ExistingClusterSpec, ManagedClusterSpec
from tests.components.conftest import WORKSPACE_ID
from tests.policy.conftest import problems, resource_args

CLUSTER = "azure-native:containerservice:ManagedCluster"
BINDING = "azure-native:containerservice:TrustedAccessRoleBinding"
IDENTITY_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aks"
EXISTING_ID = (
    "/subscriptions/0/resourceGroups/rg-shared/providers/"
    "Microsoft.ContainerService/managedClusters/aks-shared"
)


def _render(
    render: Any, environment: StackEnvironment, spec: ManagedClusterSpec | ExistingClusterSpec
) -> tuple[Recording, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def program() -> None:
        cluster = KubernetesCluster(
            "kubernetes-cluster",
            KubernetesClusterArgs(
                spec=spec,
                environment=environment,
                resource_group_name="rg-amlkit-test",
                workspace_id=WORKSPACE_ID,
                identities={"aks": IDENTITY_ID},
            ),
        )
        seen["context"] = cluster.kubeconfig_context
        pulumi.Output.all(cluster.cluster_id, cluster.cluster_name, cluster.kubeconfig).apply(
            lambda v: seen.update(id=v[0], name=v[1], kubeconfig=v[2])
        )

        async def secret() -> bool:
            return await cluster.kubeconfig.is_secret()

        found: pulumi.Output[bool] = pulumi.Output.from_input(secret())
        found.apply(lambda s: seen.update(secret=s))

    recording: Recording = render(program)
    return recording, seen


def test_a_new_cluster_is_hardened_with_a_managed_identity(
    render: Any, environment: StackEnvironment
) -> None:
    spec = ManagedClusterSpec.model_validate(
        {
            "authorized_ip_ranges": ["203.0.113.0/24"],
            "admin_group_object_ids": ["7f2e1e2b-0000-4000-8000-000000000001"],
            "node_pools": [
                {"name": "system", "vm_size": "Standard_D4s_v5", "count": 3},
                {
                    "name": "gpu",
                    "vm_size": "Standard_NC4as_T4_v3",
                    "count": 1,
                    "min_count": 1,
                    "max_count": 4,
                    "node_labels": {"accelerator": "t4"},
                    "node_taints": ["ml.azure.com/amlarc-workload=true:NoSchedule"],
                },
            ],
        }
    )
    recording, seen = _render(render, environment, spec)
    inputs = recording.one(CLUSTER).inputs
    assert inputs["resourceName"] == "aks-amlkit-test"
    assert inputs["dnsPrefix"] == "aks-amlkit-test"
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert "servicePrincipalProfile" not in inputs  # Azure ML does not support one
    assert inputs["enableRBAC"] is True
    assert inputs["aadProfile"] == {
        "managed": True,
        "enableAzureRBAC": True,
        "adminGroupObjectIDs": ["7f2e1e2b-0000-4000-8000-000000000001"],
    }
    assert inputs["disableLocalAccounts"] is False  # the extension needs them without TA
    network = inputs["networkProfile"]  # azure-native's Args fill in the address ranges
    assert (network["networkPlugin"], network["networkPolicy"], network["loadBalancerSku"]) == (
        "azure",
        "azure",
        "standard",
    )
    assert inputs["apiServerAccessProfile"] == {
        "enablePrivateCluster": False,
        "authorizedIPRanges": ["203.0.113.0/24"],
    }
    assert inputs["addonProfiles"] == {"azurepolicy": {"enabled": True}}
    assert inputs["sku"] == {"name": "Base", "tier": "Standard"}
    system, gpu = inputs["agentPoolProfiles"]
    assert (system["name"], system["mode"], system["vmSize"], system["count"]) == (
        "system",
        "System",
        "Standard_D4s_v5",
        3,
    )
    assert system["enableAutoScaling"] is False
    assert (gpu["mode"], gpu["vmSize"], gpu["minCount"], gpu["maxCount"]) == (
        "User",
        "Standard_NC4as_T4_v3",
        1,
        4,
    )
    assert gpu["enableAutoScaling"] is True
    assert gpu["nodeLabels"] == {"accelerator": "t4"}
    assert gpu["nodeTaints"] == ["ml.azure.com/amlarc-workload=true:NoSchedule"]
    assert recording.of_type(BINDING) == []  # trusted_access is off by default
    # the pack's AKS rule finds nothing to fix
    assert problems(aks_hardened, resource_args(CLUSTER, inputs)) == []
    # the body fits azure-native's types (the ARM spec's shapes)
    assert check_inputs(CLUSTER, inputs) == []
    # the kubeconfig: AKS's admin credentials, decoded, and secret
    assert seen["secret"] is True
    assert yaml.safe_load(seen["kubeconfig"])["current-context"] == "aks-amlkit-test"
    assert seen["id"].endswith("/Microsoft.ContainerService/managedClusters/aks-amlkit-test")
    assert seen["context"] is None


def test_user_assigned_identity_trusted_access_and_no_local_accounts(
    render: Any, environment: StackEnvironment
) -> None:
    spec = ManagedClusterSpec.model_validate(
        {
            "identity": {"type": "user_assigned", "user_assigned_identities": [{"name": "aks"}]},
            "private_cluster": True,
            "local_accounts": False,
            "trusted_access": True,
        }
    )
    recording, _ = _render(render, environment, spec)
    inputs = recording.one(CLUSTER).inputs
    assert inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [IDENTITY_ID]}
    assert inputs["disableLocalAccounts"] is True
    assert inputs["apiServerAccessProfile"] == {"enablePrivateCluster": True}
    binding = recording.one(BINDING)
    assert binding.inputs["roles"] == [MLWORKLOAD_ROLE]
    assert MLWORKLOAD_ROLE == "Microsoft.MachineLearningServices/workspaces/mlworkload"
    assert binding.inputs["sourceResourceId"] == WORKSPACE_ID
    assert binding.inputs["resourceName"] == "aks-amlkit-test"
    assert binding.parent is not None and binding.parent.endswith("::kubernetes-cluster")
    assert check_inputs(BINDING, binding.inputs) == []


def test_an_existing_cluster_by_arm_id_and_its_kubeconfig(
    render: Any, environment: StackEnvironment
) -> None:
    kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: shared\n"
    spec = ExistingClusterSpec.model_validate(
        {
            "resource_id": EXISTING_ID,
            "kubeconfig": {"value": kubeconfig, "context": "shared-admin"},
            "trusted_access": True,
        }
    )
    recording, seen = _render(render, environment, spec)
    assert recording.of_type(CLUSTER) == []  # nothing created
    assert (seen["id"], seen["name"]) == (EXISTING_ID, "aks-shared")
    assert (seen["kubeconfig"], seen["secret"], seen["context"]) == (
        kubeconfig.strip(),
        True,
        "shared-admin",
    )
    binding = recording.one(BINDING)
    assert (binding.inputs["resourceGroupName"], binding.inputs["resourceName"]) == (
        "rg-shared",
        "aks-shared",
    )
