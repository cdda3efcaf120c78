"""Compute clusters: scale to zero, local auth off, SSH closed, identity and subnet."""

from __future__ import annotations

from typing import Any

import pytest

from amlkit.components.compute_cluster import ComputeCluster, ComputeClusterArgs
from amlkit.components.workspace_ref import WorkspaceRef
from amlkit.plan.mock_engine import Recording
from amlkit.specs import StackEnvironment
from amlkit.specs.compute import ComputeClusterSpec

COMPUTE = "azure-native:machinelearningservices:Compute"
IDENTITY_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-compute"


def _cluster(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef, **fields: Any
) -> Recording:
    spec = ComputeClusterSpec.model_validate({"name": "cpu-cluster", **fields})

    def program() -> None:
        ComputeCluster(
            "compute-cpu-cluster",
            ComputeClusterArgs(
                spec=spec,
                environment=environment,
                workspace=workspace_ref,
                identities={"compute": IDENTITY_ID},
            ),
        )

    recording: Recording = render(program)
    return recording


def test_defaults_scale_to_zero_with_local_auth_off(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    compute = _cluster(render, environment, workspace_ref).one(COMPUTE)
    assert compute.inputs["computeName"] == "cpu-cluster"
    assert compute.inputs["workspaceName"] == workspace_ref.workspace_name
    assert compute.inputs["location"] == "westeurope"  # the workspace's
    assert "identity" not in compute.inputs
    outer = compute.inputs["properties"]
    assert outer["computeType"] == "AmlCompute"
    assert outer["disableLocalAuth"] is True  # CKV_AZURE_142
    inner = outer["properties"]
    assert inner["scaleSettings"] == {
        "minNodeCount": 0,
        "maxNodeCount": 4,  # what `az ml compute create` sends
        "nodeIdleTimeBeforeScaleDown": "PT2M",  # 120 s, as ISO-8601
    }
    assert inner["vmSize"] == "Standard_DS3_v2"
    assert inner["vmPriority"] == "Dedicated"
    assert inner["remoteLoginPortPublicAccess"] == "Disabled"
    assert inner["osType"] == "Linux"
    assert "subnet" not in inner and "userAccountCredentials" not in inner


def test_cli_fields_reach_arm(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    compute = _cluster(
        render,
        environment,
        workspace_ref,
        size="Standard_NC6s_v3",
        tier="low_priority",
        min_instances=1,
        max_instances=8,
        idle_time_before_scale_down=1800,
        enable_node_public_ip=False,
        location="northeurope",
        tags={"team": "vision"},
        identity={"type": "user_assigned", "user_assigned_identities": [{"name": "compute"}]},
        network_settings={
            "subnet": "/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aml"
        },
    ).one(COMPUTE)
    inner = compute.inputs["properties"]["properties"]
    assert inner["vmSize"] == "Standard_NC6s_v3"
    assert inner["vmPriority"] == "LowPriority"
    assert inner["scaleSettings"] == {
        "minNodeCount": 1,
        "maxNodeCount": 8,
        "nodeIdleTimeBeforeScaleDown": "PT30M",
    }
    assert inner["enableNodePublicIp"] is False
    assert inner["subnet"] == {
        "id": "/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aml"
    }
    assert compute.inputs["location"] == "northeurope"
    assert compute.inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [IDENTITY_ID],
    }
    assert compute.inputs["tags"]["team"] == "vision"
    assert compute.inputs["tags"]["environment"] == environment.name


def test_subnet_by_name_is_in_the_workspace_resource_group(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    compute = _cluster(
        render,
        environment,
        workspace_ref,
        network_settings={"vnet_name": "vnet-ml", "subnet": "training"},
    ).one(COMPUTE)
    subnet = compute.inputs["properties"]["properties"]["subnet"]["id"]
    assert subnet.startswith("/subscriptions/")
    assert subnet.endswith(
        f"/resourceGroups/{workspace_ref.resource_group_name}"
        "/providers/Microsoft.Network/virtualNetworks/vnet-ml/subnets/training"
    )


def test_ssh_password_stays_secret(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    compute = _cluster(
        render,
        environment,
        workspace_ref,
        ssh_public_access_enabled=True,
        ssh_settings={"admin_username": "mlops", "admin_password": "Xk9!correct-horse-battery"},
    ).one(COMPUTE)
    # the admin account needs local auth: on, as az ml sends it with ssh_settings
    assert compute.inputs["properties"]["disableLocalAuth"] is False
    inner = compute.inputs["properties"]["properties"]
    assert inner["remoteLoginPortPublicAccess"] == "Enabled"
    credentials = inner["userAccountCredentials"]
    assert credentials["adminUserName"] == "mlops"
    assert credentials["adminUserPassword"] == "[secret]"


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"min_instances": 3, "max_instances": 2}, "min_instances"),
        ({"tier": "spot"}, "tier"),
        ({"name": "x"}, "name"),
    ],
)
def test_bad_cluster_specs_are_refused(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ComputeClusterSpec.model_validate({"name": "cpu-cluster", **fields})
