"""Online endpoints, their deployments, autoscale and their traffic resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from amlkit.components.asset_catalog import AssetCatalog, AssetCatalogArgs
from amlkit.components.online_endpoint import OnlineEndpoint, OnlineEndpointArgs
from amlkit.components.workspace_ref import RoleScopes, WorkspaceRef
from amlkit.plan.mock_engine import AzureMocks, Recording, run_program
from amlkit.specs import OnlineDeploymentSpec, OnlineEndpointSpec, StackEnvironment
from amlkit.specs.identity import ROLE_DEFINITION_IDS
from tests.components.conftest import WORKSPACE_ID

ML = "azure-native:machinelearningservices"
IDENTITY_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-ep"
DEFAULT_ENV = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/environments/amlkit-scoring/versions/abc"


def _deployment(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "model": "azureml:classifier:3",
        "code_configuration": {"code": "azureml:scoring-code:1", "scoring_script": "score.py"},
        "instance_type": "Standard_DS3_v2",
        "instance_count": 2,
        **fields,
    }


def _render(
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
    endpoint: dict[str, Any],
) -> Recording:
    spec = OnlineEndpointSpec.model_validate(endpoint)

    def program() -> None:
        assets = AssetCatalog(
            "assets",
            AssetCatalogArgs(
                workspace=workspace_ref, uses=spec.asset_uses(), default_environment_id=DEFAULT_ENV
            ),
        )
        OnlineEndpoint(
            "online-ep",
            OnlineEndpointArgs(
                spec=spec,
                environment=environment,
                workspace=workspace_ref,
                role_scopes=role_scopes,
                identities={"endpoint": IDENTITY_ID},
                assets=assets.ids,
            ),
        )

    recording: Recording = render(program)
    return recording


@pytest.fixture
def blue_green(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef, role_scopes: RoleScopes
) -> Recording:
    return _render(
        render,
        environment,
        workspace_ref,
        role_scopes,
        {
            "name": "score",
            "auth_mode": "aml_token",
            "traffic": {"blue": 90, "green": 10},
            "deployments": [
                _deployment(
                    "blue",
                    liveness_probe={"initial_delay": 30, "period": 90, "timeout": 2},
                    request_settings={
                        "request_timeout_ms": 1500,
                        "max_concurrent_requests_per_instance": 4,
                    },
                    environment_variables={"WORKER_COUNT": 2},
                    autoscale={
                        "min_instances": 2,
                        "max_instances": 6,
                        "latency": {"scale_out_above_ms": 400},
                    },
                ),
                _deployment("green", environment="azureml:custom-env:7", instance_count=1),
            ],
        },
    )


@pytest.mark.parametrize(
    ("mode", "arm"), [("key", "Key"), ("aml_token", "AMLToken"), ("aad_token", "AADToken")]
)
def test_auth_modes(
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
    mode: str,
    arm: str,
) -> None:
    rec = _render(
        render, environment, workspace_ref, role_scopes, {"name": "score", "auth_mode": mode}
    )
    assert rec.one(f"{ML}:OnlineEndpoint").inputs["properties"]["authMode"] == arm


def test_new_endpoint_is_created_without_traffic(blue_green: Recording) -> None:
    # Offline nothing exists: the live split read at program time is empty, so
    # the endpoint's body carries none (its deployments do not exist yet).
    endpoint = blue_green.one(f"{ML}:OnlineEndpoint")
    assert "traffic" not in endpoint.inputs["properties"]
    assert "mirrorTraffic" not in endpoint.inputs["properties"]
    assert endpoint.ignore_changes == []  # the engine would send the old, empty, split
    assert endpoint.inputs["kind"] == "Managed"
    assert endpoint.inputs["endpointName"] == "score"
    assert endpoint.inputs["identity"] == {"type": "SystemAssigned"}


def test_system_identity_gets_pull_and_read_roles_before_deployments(blue_green: Recording) -> None:
    endpoint = blue_green.one(f"{ML}:OnlineEndpoint")
    grants = blue_green.of_type("azure-native:authorization:RoleAssignment")
    assert {g.inputs["principalId"] for g in grants} == {
        endpoint.outputs["identity"]["principalId"]
    }
    assert {g.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for g in grants} >= {
        ROLE_DEFINITION_IDS["AcrPull"],
        ROLE_DEFINITION_IDS["Storage Blob Data Reader"],
    }
    # Depending on the RoleAssignments component reaches the engine as its children.
    for deployment in blue_green.of_type(f"{ML}:OnlineDeployment"):
        assert {g.urn for g in grants} <= set(deployment.depends_on)
        assert endpoint.urn in deployment.depends_on


def test_deployment_fields_reach_arm(blue_green: Recording, workspace_ref: WorkspaceRef) -> None:
    blue = blue_green.one(f"{ML}:OnlineDeployment", "online-ep-blue").inputs
    props = blue["properties"]
    assert blue["sku"] == {"name": "Default", "capacity": 2}
    assert props["endpointComputeType"] == "Managed"
    assert props["instanceType"] == "Standard_DS3_v2"
    assert props["livenessProbe"] == {
        "initialDelay": "PT30S",
        "period": "PT1M30S",
        "timeout": "PT2S",
        "successThreshold": 1,
        "failureThreshold": 30,
    }
    assert props["readinessProbe"]["initialDelay"] == "PT10S"
    assert props["requestSettings"] == {
        "requestTimeout": "PT1.5S",
        "maxConcurrentRequestsPerInstance": 4,
        "maxQueueWait": "PT0.5S",  # the SDK's default; deprecated for managed endpoints
    }
    assert props["model"] == f"{workspace_ref.workspace_id}/models/classifier/versions/3"
    assert props["codeConfiguration"] == {
        "codeId": f"{workspace_ref.workspace_id}/codes/scoring-code/versions/1",
        "scoringScript": "score.py",
    }
    assert props["environmentId"] == DEFAULT_ENV
    assert props["scaleSettings"] == {"scaleType": "Default"}
    assert props["egressPublicNetworkAccess"] == "Enabled"
    # On the scoring image, the request settings reach amlkit-serve too; the user's values stay.
    assert props["environmentVariables"] == {
        "WORKER_COUNT": "2",
        "SCORING_TIMEOUT_MS": "1500",
        "AMLKIT_MAX_CONCURRENT_REQUESTS": "4",
        "AMLKIT_DEPLOYMENT_NAME": "blue",
    }
    green = blue_green.one(f"{ML}:OnlineDeployment", "online-ep-green").inputs["properties"]
    assert (
        green["environmentId"] == f"{workspace_ref.workspace_id}/environments/custom-env/versions/7"
    )
    assert "environmentVariables" not in green  # not our image: nothing added


def test_runtime_variables_never_override_the_user() -> None:
    spec = OnlineDeploymentSpec.model_validate(
        {
            **_deployment("blue"),
            "type": "managed",
            "environment_variables": {"SCORING_TIMEOUT_MS": "60000"},
        }
    )
    assert spec.runtime_variables()["SCORING_TIMEOUT_MS"] == "60000"


def test_autoscale_targets_the_deployment(blue_green: Recording) -> None:
    (setting,) = blue_green.of_type("azure-native:monitor:AutoscaleSetting")
    deployment = blue_green.one(f"{ML}:OnlineDeployment", "online-ep-blue")
    assert setting.inputs["targetResourceUri"] == deployment.id
    (profile,) = setting.inputs["profiles"]
    assert profile["capacity"] == {"minimum": "2", "maximum": "6", "default": "2"}
    rules = [
        (
            r["metricTrigger"]["metricName"],
            r["metricTrigger"]["operator"],
            r["metricTrigger"]["threshold"],
            r["scaleAction"]["direction"],
            r["metricTrigger"]["metricResourceUri"].rsplit("/", 2)[-2],
        )
        for r in profile["rules"]
    ]
    assert rules == [
        ("CpuUtilizationPercentage", "GreaterThan", 70, "Increase", "deployments"),
        ("CpuUtilizationPercentage", "LessThan", 25, "Decrease", "deployments"),
        ("RequestLatency", "GreaterThan", 400, "Increase", "onlineEndpoints"),
    ]
    assert all(r["metricTrigger"]["timeWindow"] == "PT5M" for r in profile["rules"])
    assert all(r["scaleAction"]["cooldown"] == "PT5M" for r in profile["rules"])
    assert len(blue_green.of_type("azure-native:monitor:AutoscaleSetting")) == 1  # green has none


def test_traffic_resource_waits_for_every_deployment(blue_green: Recording) -> None:
    split = blue_green.one(
        "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic", "online-ep-traffic"
    )
    deployments = {d.urn for d in blue_green.of_type(f"{ML}:OnlineDeployment")}
    assert len(deployments) == 2 and deployments <= set(split.depends_on)
    assert split.parent == blue_green.one("amlkit:index:OnlineEndpoint").urn
    inputs = {k: v for k, v in split.inputs.items() if k != "__provider"}
    assert inputs == {
        "workspaceId": WORKSPACE_ID,
        "endpointName": "score",
        "endpointKind": "managed",
        "deployments": ["blue", "green"],
        "traffic": {"blue": 90, "green": 10},
        "mirrorTraffic": {},
    }  # outputs declared as None (applied, liveTraffic...) are not sent


def test_nothing_is_applied_offline(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef, role_scopes: RoleScopes
) -> None:
    spec = OnlineEndpointSpec.model_validate(
        {"name": "score", "traffic": {"blue": 100}, "deployments": [_deployment("blue")]}
    )

    def program() -> None:
        assets = AssetCatalog(
            "assets",
            AssetCatalogArgs(
                workspace=workspace_ref, uses=spec.asset_uses(), default_environment_id=DEFAULT_ENV
            ),
        )
        endpoint = OnlineEndpoint(
            "online-ep",
            OnlineEndpointArgs(
                spec=spec,
                environment=environment,
                workspace=workspace_ref,
                role_scopes=role_scopes,
                identities={},
                assets=assets.ids,
            ),
        )
        pulumi.export("traffic", endpoint.traffic)

    rec: Recording = render(program)
    # The mock engine never calls the provider: nothing was written, and it says so.
    assert rec.outputs["traffic"] == {
        "traffic": {"blue": 100},
        "mirror_traffic": {},
        "applied": False,
    }


def test_user_assigned_identity_gets_no_extra_roles(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef, role_scopes: RoleScopes
) -> None:
    rec = _render(
        render,
        environment,
        workspace_ref,
        role_scopes,
        {
            "name": "score",
            "identity": {
                "type": "user_assigned",
                "user_assigned_identities": [{"name": "endpoint"}],
            },
            "deployments": [_deployment("blue")],
        },
    )
    endpoint = rec.one(f"{ML}:OnlineEndpoint").inputs
    assert endpoint["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [IDENTITY_ID]}
    assert rec.of_type("azure-native:authorization:RoleAssignment") == []


def test_kubernetes_endpoint_and_deployment(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef, role_scopes: RoleScopes
) -> None:
    rec = _render(
        render,
        environment,
        workspace_ref,
        role_scopes,
        {
            "name": "k8s-score",
            "compute": "azureml:inferencecompute",
            "deployments": [
                {
                    "name": "blue",
                    "model": "azureml:classifier:3",
                    "instance_type": "defaultinstancetype",
                    "resources": {
                        "requests": {"cpu": "0.1", "memory": "0.1Gi"},
                        "limits": {"cpu": "0.2"},
                    },
                    "scale_settings": {
                        "type": "target_utilization",
                        "min_instances": 1,
                        "max_instances": 3,
                        "polling_interval": 10,
                    },
                }
            ],
        },
    )
    endpoint = rec.one(f"{ML}:OnlineEndpoint").inputs
    assert endpoint["kind"] == "Kubernetes"
    assert (
        endpoint["properties"]["compute"]
        == f"{workspace_ref.workspace_id}/computes/inferencecompute"
    )
    props = rec.one(f"{ML}:OnlineDeployment").inputs["properties"]
    assert props["endpointComputeType"] == "Kubernetes"
    assert props["containerResourceRequirements"] == {
        "containerResourceRequests": {"cpu": "0.1", "memory": "0.1Gi"},
        "containerResourceLimits": {"cpu": "0.2"},
    }
    assert props["scaleSettings"] == {
        "scaleType": "TargetUtilization",
        "minInstances": 1,
        "maxInstances": 3,
        "pollingInterval": "PT10S",
        "targetUtilizationPercentage": 70,
    }


def test_inline_model_and_code_are_uploaded_once(
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
    tmp_path: Path,
) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.joblib").write_bytes(b"weights")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text("def init():\n    pass\n")
    inline = {
        "model": {"path": str(tmp_path / "model"), "name": "clf"},
        "code_configuration": {"code": str(tmp_path / "code"), "scoring_script": "score.py"},
    }
    rec = _render(
        render,
        environment,
        workspace_ref,
        role_scopes,
        {
            "name": "score",
            "deployments": [_deployment("blue", **inline), _deployment("green", **inline)],
        },
    )
    (model,) = rec.of_type(f"{ML}:ModelVersion")
    assert model.inputs["name"] == "clf"
    model_ids = {d.inputs["properties"]["model"] for d in rec.of_type(f"{ML}:OnlineDeployment")}
    assert model_ids == {model.id}
    assert model.inputs["properties"]["modelUri"].startswith(
        "azureml://subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-amlkit-test"
        "/workspaces/mlw-amlkit-test/datastores/amlkit_assets/paths/LocalUpload/"
    )


class _LiveEndpoint(AzureMocks):
    """azure-native's getOnlineEndpoint answering for an endpoint that exists, or failing."""

    def __init__(self, answer: dict[str, Any] | None, failure: str | None = None) -> None:
        self.answer, self.failure = answer, failure
        self.asked: list[dict[str, Any]] = []

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:machinelearningservices:getOnlineEndpoint":
            self.asked.append(dict(args.args))
            if self.failure:
                return {}, [("endpointName", self.failure)]
            return dict(self.answer or {}), []
        return super().call(args)


def _render_with(
    mocks: AzureMocks,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
) -> Recording:
    spec = OnlineEndpointSpec.model_validate(
        {
            "name": "score",
            "tags": {"team": "fraud"},
            "traffic": {"blue": 50, "green": 50},
            "deployments": [_deployment("blue"), _deployment("green")],
        }
    )

    def program() -> None:
        assets = AssetCatalog(
            "assets",
            AssetCatalogArgs(
                workspace=workspace_ref, uses=spec.asset_uses(), default_environment_id=DEFAULT_ENV
            ),
        )
        OnlineEndpoint(
            "online-ep",
            OnlineEndpointArgs(
                spec=spec,
                environment=environment,
                workspace=workspace_ref,
                role_scopes=role_scopes,
                identities={},
                assets=assets.ids,
            ),
        )

    return run_program(program, project="amlkit", stack="test", mocks=mocks)


def test_an_existing_endpoint_is_sent_with_the_split_azure_holds(
    environment: StackEnvironment, workspace_ref: WorkspaceRef, role_scopes: RoleScopes
) -> None:
    live = {
        "properties": {
            "authMode": "Key",
            "traffic": {"blue": 90, "green": 10},
            "mirrorTraffic": {"green": 0},
        }
    }
    mocks = _LiveEndpoint(live)
    rec = _render_with(mocks, environment, workspace_ref, role_scopes)
    props = rec.one(f"{ML}:OnlineEndpoint").inputs["properties"]
    # Not the config's 50/50: that is the traffic resource's to write, after the deployments.
    assert (props["traffic"], props["mirrorTraffic"]) == ({"blue": 90, "green": 10}, {"green": 0})
    assert mocks.asked == [
        {
            "endpointName": "score",
            "resourceGroupName": "rg-amlkit-test",
            "workspaceName": "mlw-amlkit-test",
        }
    ]


def test_a_failed_read_of_live_traffic_stops_the_program(
    environment: StackEnvironment, workspace_ref: WorkspaceRef, role_scopes: RoleScopes
) -> None:
    """Only "not found" means "no traffic yet"; anything else must not send an empty split."""
    mocks = _LiveEndpoint(None, "RESPONSE 403: 403 Forbidden ERROR CODE: AuthorizationFailed")
    with pytest.raises(Exception, match="AuthorizationFailed"):
        _render_with(mocks, environment, workspace_ref, role_scopes)


def test_mlflow_model_without_code_is_a_no_code_deployment(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef, role_scopes: RoleScopes
) -> None:
    """As the `ncd` sample: Azure generates the script and environment of an MLflow
    model; the scoring image with no script to run would never become ready."""
    rec = _render(
        render,
        environment,
        workspace_ref,
        role_scopes,
        {
            "name": "score",
            "deployments": [
                {
                    "name": "sklearn-deployment",
                    "model": "azureml:sklearn-diabetes:2",
                    "instance_type": "Standard_DS3_v2",
                    "instance_count": 1,
                }
            ],
        },
    )
    props = rec.one(f"{ML}:OnlineDeployment").inputs["properties"]
    assert "environmentId" not in props
    assert "codeConfiguration" not in props
    assert "environmentVariables" not in props  # no amlkit-serve settings either
    assert props["model"] == f"{workspace_ref.workspace_id}/models/sklearn-diabetes/versions/2"
