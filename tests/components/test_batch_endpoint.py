"""Batch endpoints and their deployments: Entra auth, settings under ARM's names."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from amlkit.components.asset_catalog import AssetCatalog, AssetCatalogArgs
from amlkit.components.batch_endpoint import BatchEndpoint, BatchEndpointArgs
from amlkit.components.workspace_ref import WorkspaceRef
from amlkit.plan.mock_engine import Recording
from amlkit.specs import StackEnvironment
from amlkit.specs.batch_endpoint import BatchEndpointSpec

ML = "azure-native:machinelearningservices"
DEFAULT = "pulumi-python:dynamic/amlkit:BatchEndpointDefault"
CLUSTER_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/cpu-cluster"
WS_ID = (
    "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
)
DEFAULT_ENV = f"{WS_ID}/environments/amlkit-scoring/versions/abc"
BATCH_ENV = f"{WS_ID}/environments/amlkit-batch/versions/def"


def _deployment(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "model": "azureml:classifier:3",
        "code_configuration": {"code": "azureml:batch-code:2", "scoring_script": "batch.py"},
        "compute": "azureml:cpu-cluster",
        **fields,
    }


def _render(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef, endpoint: Any
) -> Recording:
    spec = BatchEndpointSpec.model_validate(endpoint)

    def program() -> None:
        assets = AssetCatalog(
            "assets",
            AssetCatalogArgs(
                workspace=workspace_ref,
                uses=spec.asset_uses(),
                default_environment_id=DEFAULT_ENV,
                batch_environment_id=BATCH_ENV,
            ),
        )
        endpoint = BatchEndpoint(
            "batch-score",
            BatchEndpointArgs(
                spec=spec,
                environment=environment,
                workspace=workspace_ref,
                compute_ids={"cpu-cluster": CLUSTER_ID},
                assets=assets.ids,
            ),
        )
        pulumi.export("default_deployment", endpoint.default_deployment)
        pulumi.export("default_applied", endpoint.default_applied)

    recording: Recording = render(program)
    return recording


@pytest.fixture
def two(render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef) -> Recording:
    return _render(
        render,
        environment,
        workspace_ref,
        {
            "name": "nightly-score",
            "description": "nightly",
            "defaults": {"deployment_name": "tuned"},
            "deployments": [
                _deployment(
                    "tuned",
                    resources={"instance_count": 2},
                    settings={
                        "max_concurrency_per_instance": 4,
                        "mini_batch_size": 20,
                        "error_threshold": 5,
                        "logging_level": "warning",
                        "output_file_name": "scores.csv",
                        "retry_settings": {"max_retries": 2, "timeout": 300},
                        "environment_variables": {"BATCH_ROWS": "1000"},
                    },
                ),
                _deployment(
                    "summary",
                    environment="azureml:custom-env:4",
                    settings={"output_action": "summary_only"},
                ),
            ],
        },
    )


def test_endpoint_takes_entra_tokens_and_sends_the_default_azure_holds(two: Recording) -> None:
    endpoint = two.one(f"{ML}:BatchEndpoint")
    assert endpoint.inputs["endpointName"] == "nightly-score"
    assert endpoint.inputs["properties"]["authMode"] == "AADToken"
    assert endpoint.inputs["properties"]["description"] == "nightly"
    # A new endpoint has no default in Azure (getBatchEndpoint: 404), so none is
    # sent; the config's default is written once its deployment exists.
    assert "defaults" not in endpoint.inputs["properties"]
    assert endpoint.ignore_changes == []
    assert two.outputs["default_deployment"] == "tuned"


def test_the_default_is_written_after_every_deployment_exists(
    two: Recording, workspace_ref: WorkspaceRef
) -> None:
    written = two.one(DEFAULT, "batch-score-default")
    assert written.inputs["workspaceId"] == workspace_ref.workspace_id
    assert written.inputs["endpointName"] == "nightly-score"
    assert written.inputs["deploymentName"] == "tuned"
    assert written.inputs["deployments"] == ["tuned", "summary"]
    deployments = {
        two.one(f"{ML}:BatchDeployment", f"batch-score-{n}").urn for n in ("tuned", "summary")
    }
    assert deployments <= set(written.depends_on)
    # Offline nothing is written, and the output says so.
    assert two.outputs["default_applied"] is False


def test_one_deployment_is_the_default_without_naming_it(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    one = _render(
        render,
        environment,
        workspace_ref,
        {"name": "nightly-score", "deployments": [_deployment("only")]},
    )
    assert one.one(DEFAULT, "batch-score-default").inputs["deploymentName"] == "only"


def test_an_endpoint_without_deployments_has_no_default_to_write(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    empty = _render(render, environment, workspace_ref, {"name": "nightly-score"})
    assert [r for r in empty.resources if r.type == DEFAULT] == []
    assert empty.outputs["default_deployment"] == ""
    assert empty.outputs["default_applied"] is False


def test_settings_reach_arm_under_their_names(two: Recording, workspace_ref: WorkspaceRef) -> None:
    tuned = two.one(f"{ML}:BatchDeployment", "batch-score-tuned")
    assert tuned.inputs["deploymentName"] == "tuned"
    assert tuned.inputs["endpointName"] == "nightly-score"
    props = tuned.inputs["properties"]
    assert props["compute"] == CLUSTER_ID
    assert props["resources"] == {"instanceCount": 2}
    assert props["maxConcurrencyPerInstance"] == 4
    assert props["miniBatchSize"] == 20
    assert props["errorThreshold"] == 5
    assert props["loggingLevel"] == "Warning"
    assert props["outputAction"] == "AppendRow"
    assert props["outputFileName"] == "scores.csv"
    assert props["retrySettings"] == {"maxRetries": 2, "timeout": "PT5M"}
    assert props["environmentVariables"] == {"BATCH_ROWS": "1000"}
    assert props["model"] == {
        "referenceType": "Id",
        "assetId": f"{workspace_ref.workspace_id}/models/classifier/versions/3",
    }
    assert props["codeConfiguration"] == {
        "codeId": f"{workspace_ref.workspace_id}/codes/batch-code/versions/2",
        "scoringScript": "batch.py",
    }
    # The stack's batch image (Azure's batch driver runs in it), not the online one.
    assert props["environmentId"] == BATCH_ENV


def test_azure_defaults_and_summary_only(two: Recording, workspace_ref: WorkspaceRef) -> None:
    props = two.one(f"{ML}:BatchDeployment", "batch-score-summary").inputs["properties"]
    assert props["outputAction"] == "SummaryOnly"
    # Not amlkit's: azure-native's Args class fills Azure's default; unused with SummaryOnly.
    assert props["outputFileName"] == "predictions.csv"
    assert props["miniBatchSize"] == 10
    assert props["maxConcurrencyPerInstance"] == 1
    assert props["errorThreshold"] == -1
    assert props["loggingLevel"] == "Info"
    assert props["retrySettings"] == {"maxRetries": 3, "timeout": "PT30S"}
    assert props["resources"] == {"instanceCount": 1}
    assert (
        props["environmentId"] == f"{workspace_ref.workspace_id}/environments/custom-env/versions/4"
    )


def test_deployments_wait_for_their_endpoint(two: Recording) -> None:
    endpoint = two.one(f"{ML}:BatchEndpoint")
    for deployment in two.of_type(f"{ML}:BatchDeployment"):
        # endpointName is the endpoint's output: the engine orders the PUTs.
        assert deployment.inputs["endpointName"] == endpoint.outputs["name"]


@pytest.mark.parametrize(
    ("endpoint", "fragment"),
    [
        ({"name": "batch-ep", "auth_mode": "key"}, "aad_token"),
        (
            {
                "name": "batch-ep",
                "defaults": {"deployment_name": "nope"},
                "deployments": [_deployment("tuned")],
            },
            "'nope' is not a deployment",
        ),
        (
            {"name": "batch-ep", "deployments": [_deployment("first"), _deployment("second")]},
            "name which of the deployments",
        ),
    ],
)
def test_bad_batch_endpoints_are_refused(endpoint: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        BatchEndpointSpec.model_validate(endpoint)


def test_mlflow_model_without_code_is_a_no_code_deployment(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    """Neither code nor environment (the heart-classifier-mlflow sample): Azure
    generates both for an MLflow model; the scoring image would have no script to run."""
    rec = _render(
        render,
        environment,
        workspace_ref,
        {
            "name": "heart-batch",
            "deployments": [
                {
                    "name": "classifier-xgboost-mlflow",
                    "type": "model",
                    "model": "azureml:heart-classifier-mlflow@latest",
                    "compute": "azureml:cpu-cluster",
                    "resources": {"instance_count": 2},
                }
            ],
        },
    )
    props = rec.one(f"{ML}:BatchDeployment").inputs["properties"]
    assert "environmentId" not in props
    assert "codeConfiguration" not in props
    assert props["model"]["assetId"].endswith("/models/heart-classifier-mlflow/versions/1")
