"""The generic walker over Azure ML's ARM models, and how bodies are built from inputs."""

from __future__ import annotations

from typing import Any

import pytest

from amlkit.plan import azure_body, azure_models
from amlkit.plan.azure_check import Problem, check_body, walk
from amlkit.plan.azure_models import ModelOf

ML = "azure-native:machinelearningservices"


def _models() -> Any:
    return azure_models.models_module()


def _kinds(problems: list[Problem]) -> list[tuple[str, str]]:
    return sorted((p.kind, p.path) for p in problems)


def test_the_models_are_the_api_version_azure_native_sends() -> None:
    assert azure_models.client_api_version() == azure_models.API_VERSION == "2025-12-01"
    for resource in ["OnlineEndpoint", "OnlineDeployment", "BatchDeployment", "Compute"]:
        assert azure_body.sent_api_version(f"{ML}:{resource}") == "2025-12-01"


def test_fields_carry_rest_name_type_readonly_and_required() -> None:
    fields = azure_models.fields(_models().OnlineEndpoint)
    assert fields["location"].required and fields["properties"].required
    assert not fields["tags"].required
    assert fields["systemData"].readonly and fields["id"].readonly
    assert fields["tags"].type == azure_models.MapOf(azure_models.Scalar("str"))
    props = azure_models.fields(_models().OnlineEndpointProperties)
    assert props["authMode"].required
    assert props["scoringUri"].readonly
    assert props["mirrorTraffic"].type == azure_models.MapOf(azure_models.Scalar("int"))
    auth = props["authMode"].type
    assert isinstance(auth, azure_models.EnumOf) and set(auth.values) == {
        "AMLToken",
        "Key",
        "AADToken",
    }
    probe = azure_models.fields(_models().ProbeSettings)
    assert probe["period"].type == azure_models.Scalar("duration")
    assert probe["failureThreshold"].type == azure_models.Scalar("int")


def test_model_for_maps_azure_native_tokens_to_top_level_models() -> None:
    models = _models()
    assert azure_models.model_for(f"{ML}:OnlineEndpoint") is models.OnlineEndpoint
    assert azure_models.model_for(f"{ML}:Compute") is models.ComputeResource
    assert azure_models.model_for(f"{ML}:ModelVersion") is models.ModelVersion
    assert azure_models.model_for("azure-native:storage:StorageAccount") is None


def test_a_valid_probe_passes_and_durations_come_out_canonical() -> None:
    canonical, problems = walk(
        {"period": "PT90S", "timeout": "PT2S", "failureThreshold": 3},
        ModelOf(_models().ProbeSettings),
    )
    assert problems == []
    assert canonical == {"period": "PT1M30S", "timeout": "PT2S", "failureThreshold": 3}


@pytest.mark.parametrize("bad", ["5000", "500ms", "PT", "2 seconds", 5000, "P1S"])
def test_durations_that_are_not_iso_8601(bad: Any) -> None:
    _, problems = walk({"requestTimeout": bad}, ModelOf(_models().OnlineRequestSettings))
    assert [(p.kind, p.path, p.value) for p in problems] == [
        ("bad-duration", "requestTimeout", bad)
    ]


@pytest.mark.parametrize("good", ["PT1M30S", "PT0.5S", "PT5S", "PT1H", "P1DT2H"])
def test_iso_8601_durations_pass(good: str) -> None:
    _, problems = walk({"requestTimeout": good}, ModelOf(_models().OnlineRequestSettings))
    assert problems == []


def test_wrong_types() -> None:
    body = {"name": "Default", "capacity": "3"}
    _, problems = walk(body, ModelOf(_models().Sku))
    assert [(p.kind, p.path, p.allowed) for p in problems] == [
        ("wrong-type", "capacity", "an integer")
    ]
    for value in (3.0, True):
        _, problems = walk({"name": "Default", "capacity": value}, ModelOf(_models().Sku))
        assert _kinds(problems) == [("wrong-type", "capacity")]
    _, problems = walk(
        {"authMode": "Key", "traffic": {"blue": "90"}}, ModelOf(_models().OnlineEndpointProperties)
    )
    assert [(p.kind, p.path, p.value) for p in problems] == [("wrong-type", "traffic.blue", "90")]


def test_enums_are_case_insensitive_and_unknown_values_are_caught() -> None:
    spec = ModelOf(_models().OnlineEndpointProperties)
    canonical, problems = walk({"authMode": "aadToken"}, spec)
    assert problems == [] and canonical == {"authMode": "AADToken"}
    _, problems = walk({"authMode": "AzureAD"}, spec)
    (problem,) = problems
    assert (problem.kind, problem.path, problem.value) == ("unknown-enum", "authMode", "AzureAD")
    assert "AADToken" in problem.allowed


def test_unknown_property_names_the_close_match() -> None:
    _, problems = walk({"requestTimout": "PT5S"}, ModelOf(_models().OnlineRequestSettings))
    (problem,) = problems
    assert (problem.kind, problem.path) == ("unknown-property", "requestTimout")
    assert problem.allowed.startswith("'requestTimeout' (did you mean it?)")


def test_read_only_and_missing_required() -> None:
    _, problems = walk(
        {"authMode": "Key", "scoringUri": "https://x"}, ModelOf(_models().OnlineEndpointProperties)
    )
    assert _kinds(problems) == [("read-only", "scoringUri")]
    _, problems = walk({"description": "no auth mode"}, ModelOf(_models().OnlineEndpointProperties))
    assert _kinds(problems) == [("missing-required", "authMode")]


def test_discriminators_pick_the_subtype_exactly() -> None:
    spec = ModelOf(_models().OnlineDeploymentProperties)
    # container resource requirements exist on Kubernetes deployments only
    resources = {"containerResourceRequests": {"cpu": "0.1"}}
    _, problems = walk(
        {"endpointComputeType": "Kubernetes", "containerResourceRequirements": resources}, spec
    )
    assert problems == []
    _, problems = walk(
        {"endpointComputeType": "Managed", "containerResourceRequirements": resources}, spec
    )
    assert _kinds(problems) == [("unknown-property", "containerResourceRequirements")]
    _, problems = walk({"endpointComputeType": "managed"}, spec)
    assert _kinds(problems) == [("unknown-discriminator", "endpointComputeType")]
    _, problems = walk({"instanceType": "Standard_DS3_v2"}, spec)
    assert _kinds(problems) == [("missing-required", "endpointComputeType")]


def test_nested_discriminators_compute() -> None:
    body: dict[str, Any] = {
        "location": "westeurope",
        "properties": {
            "computeType": "AmlCompute",
            "properties": {"scaleSettings": {"maxNodeCount": 2, "minNodeCount": 0}},
        },
    }
    _, problems = check_body(body, _models().ComputeResource)
    assert problems == []
    body["properties"]["properties"]["scaleSettings"] = {"minNodeCount": 0}
    _, problems = check_body(body, _models().ComputeResource)
    assert _kinds(problems) == [
        ("missing-required", "properties.properties.scaleSettings.maxNodeCount")
    ]


def test_secrets_are_not_type_checked() -> None:
    _, problems = walk({"name": "Default", "capacity": "[secret]"}, ModelOf(_models().Sku))
    assert problems == []


def test_path_parameters_come_from_the_sdk_getters() -> None:
    assert azure_body.path_parameters(f"{ML}:OnlineDeployment") == {
        "resourceGroupName",
        "workspaceName",
        "endpointName",
        "deploymentName",
    }
    assert azure_body.path_parameters(f"{ML}:ModelVersion") == {
        "resourceGroupName",
        "workspaceName",
        "name",
        "version",
    }


def test_body_drops_path_parameters_flattens_and_maps_identities() -> None:
    models = _models()
    body = azure_body.request_body(
        f"{ML}:Workspace",
        {
            "resourceGroupName": "rg",
            "workspaceName": "mlw",
            "location": "westeurope",
            "keyVault": "/kv",
            "identity": {"type": "UserAssigned", "userAssignedIdentities": ["/id/a", "/id/b"]},
        },
        models.Workspace,
    )
    assert body == {
        "location": "westeurope",
        "properties": {"keyVault": "/kv"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/a": {}, "/id/b": {}}},
    }
    _, problems = check_body(body, models.Workspace)
    assert problems == []
