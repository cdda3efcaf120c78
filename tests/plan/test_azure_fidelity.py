"""For each CLI v2 file amlkit supports, the request body amlkit sends equals the one
azure-ai-ml (what `az ml` runs) sends, apart from the differences listed in TOLERATED,
each with its reason and a check of its own.

Two corpora: the project's fixtures (tests/fixtures/cli-v2/), which run everywhere and
between them show every tolerated difference, and Microsoft's samples, which skip
with the reason where they are absent (tests/conftest.py). Both bodies are compared
in the canonical form of Azure's models (enum values case-insensitive, one spelling
a duration), and both must pass the models.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from amlkit.plan import azure_models
from amlkit.plan.azure_check import check_body
from amlkit.plan.differences import BY_KEY, DIFFERENCES
from tests.cli_v2 import FIXTURES, VALID_FIXTURES, schema_kind
from tests.conftest import example_files
from tests.fidelity import (
    DEFAULT_ENV,
    ML,
    NATIVE_TYPES,
    amlkit_body,
    amlkit_data_bodies,
    amlkit_render,
    azure_ai_ml_body,
    azure_ai_ml_data_bodies,
    canonical,
    differences,
)

Check = Callable[[Any, Any], bool]


def arm_id(ours: Any, theirs: Any) -> bool:
    """An asset reference only Azure (or az ml's upload step) resolves: amlkit sends the
    full ARM id; azure-ai-ml sends the bare name, a local path, or nothing."""
    return isinstance(ours, str) and ours.startswith("/subscriptions/") and ours != theirs


def default(value: Any) -> Check:
    """amlkit writes out a value azure-ai-ml leaves to Azure."""
    return lambda ours, theirs: theirs is None and ours == value


def empty(ours: Any, theirs: Any) -> bool:
    return ours in (None, {}, []) and theirs in (None, {}, [])


def same_ignoring_case(ours: Any, theirs: Any) -> bool:
    return isinstance(ours, str) and isinstance(theirs, str) and ours.lower() == theirs.lower()


def written_later(ours: Any, theirs: Any) -> bool:
    """A batch endpoint's default deployment: azure-ai-ml sends it with the endpoint;
    amlkit writes it once the deployment exists (components/dynamic/batch_defaults.py)."""
    return ours is None and isinstance(theirs, dict) and set(theirs) == {"deploymentName"}


def one_of(*values: Any) -> Check:
    return lambda ours, theirs: theirs is None and ours in values


@dataclass(frozen=True)
class Tolerated:
    path: str
    """A dotted body path; `*` matches within one segment."""
    check: Check
    reason: str
    difference: str | None = None
    """The deliberate difference from az ml it is (amlkit/plan/differences.py), if one."""


def deliberate(key: str, path: str, check: Check) -> Tolerated:
    """A body difference that one entry of amlkit's table of differences explains."""
    assert path in BY_KEY[key].body_paths, (key, path)
    return Tolerated(path, check, f"deliberate: {BY_KEY[key].reason}", key)


def scoring_image_variable(ours: Any, theirs: Any) -> bool:
    return theirs is None and isinstance(ours, str)


PROBE_DEFAULTS = {
    "initialDelay": "PT10S",
    "period": "PT10S",
    "timeout": "PT2S",
    "successThreshold": 1,
    "failureThreshold": 30,
}

TOLERATED = [
    # -- deliberate differences from az ml (amlkit/plan/differences.py) -------------------
    # first: an entry below may also match their paths for another reason
    deliberate("stack-tags", "tags", default({"environment": "test", "managed-by": "amlkit"})),
    deliberate("stack-tags", "tags.environment", default("test")),
    deliberate("stack-tags", "tags.managed-by", default("amlkit")),
    deliberate("batch-default-written-later", "properties.defaults", written_later),
    deliberate(
        "cluster-ssh-port-closed",
        "properties.properties.remoteLoginPortPublicAccess",
        lambda ours, theirs: (ours, theirs) == ("Disabled", "NotSpecified"),
    ),
    deliberate(
        "scoring-image-environment",
        "properties.environmentId",
        lambda ours, theirs: (ours, theirs) == (DEFAULT_ENV, None),
    ),
    *(
        deliberate("scoring-image-environment", path, scoring_image_variable)
        for path in BY_KEY["scoring-image-environment"].body_paths[1:]
    ),
    # -- asset references only Azure resolves ----------------------------------------------
    Tolerated(
        "properties.model",
        arm_id,
        "local model folder: amlkit uploads and registers it, then sends the version's ARM id; azure-ai-ml's REST conversion leaves it out (its operations upload first)",
    ),
    Tolerated(
        "properties.model.assetId",
        arm_id,
        "`azureml:name@latest` or a local folder: amlkit sends the resolved version's ARM id; azure-ai-ml the bare name or the unuploaded entity",
    ),
    Tolerated(
        "properties.codeConfiguration.codeId",
        arm_id,
        "local code folder: amlkit uploads and registers it; azure-ai-ml sends the local path its operations upload",
    ),
    Tolerated(
        "properties.environmentId",
        arm_id,
        "inline environment (image + conda): amlkit registers an environment version and sends its ARM id",
    ),
    Tolerated(
        "properties.compute",
        arm_id,
        "`azureml:batch-cluster` / `inferencecompute`: amlkit sends the compute's ARM id; azure-ai-ml the bare name its operations turn into that id",
    ),
    # -- values amlkit writes out where azure-ai-ml lets Azure default ----------------------
    Tolerated(
        "properties.livenessProbe",
        default(PROBE_DEFAULTS),
        "Azure's probe defaults (CLI v2 reference), written out so a plan shows them",
    ),
    Tolerated("properties.readinessProbe", default(PROBE_DEFAULTS), "as livenessProbe"),
    Tolerated(
        "properties.requestSettings",
        default(
            {
                "maxConcurrentRequestsPerInstance": 1,
                "maxQueueWait": "PT0.5S",
                "requestTimeout": "PT5S",
            }
        ),
        "Azure's request defaults (azure-native's OnlineRequestSettingsArgs fills them in)",
    ),
    Tolerated(
        "properties.requestSettings.maxConcurrentRequestsPerInstance",
        default(1),
        "Azure's default, written out",
    ),
    Tolerated(
        "properties.requestSettings.maxQueueWait",
        default("PT0.5S"),
        "Azure's default, filled in by azure-native's OnlineRequestSettingsArgs",
    ),
    Tolerated(
        "properties.scaleSettings",
        default({"scaleType": "Default"}),
        "Azure's default scale settings, written out",
    ),
    Tolerated(
        "properties.egressPublicNetworkAccess",
        default("Enabled"),
        "Azure's default (azure-native's deployment Args fill it in)",
    ),
    Tolerated(
        "properties.publicNetworkAccess",
        default("Enabled"),
        "Azure's default, written out from amlkit's spec default",
    ),
    Tolerated(
        "properties.properties.vmPriority",
        default("Dedicated"),
        "CLI v2's default tier `dedicated`, written out",
    ),
    Tolerated("sku.capacity", default(1), "Azure's default instance count, written out"),
    Tolerated("properties.errorThreshold", default(-1), "batch: Azure's default, written out"),
    Tolerated(
        "properties.maxConcurrencyPerInstance", default(1), "batch: Azure's default, written out"
    ),
    Tolerated(
        "properties.outputFileName",
        default("predictions.csv"),
        "batch: Azure's default, written out (also with summary_only, where Azure ignores it)",
    ),
    Tolerated(
        "properties.resources",
        default({"instanceCount": 1}),
        "batch: Azure's default instance count, written out",
    ),
    Tolerated(
        "properties.retrySettings",
        default({"maxRetries": 3, "timeout": "PT30S"}),
        "batch: Azure's retry defaults, written out",
    ),
    Tolerated(
        "kind",
        one_of("Managed", "Kubernetes"),
        "ARM's `kind` (portal metadata) names the endpoint type; azure-ai-ml leaves it out",
    ),
    Tolerated(
        "identity",
        default({"type": "SystemAssigned"}),
        "batch endpoints: amlkit gives them a system-assigned identity explicitly (Azure ML's default for endpoints)",
    ),
    # -- deliberate ------------------------------------------------------------------------
    Tolerated(
        "properties.properties.private-network-connection",
        lambda ours, theirs: (ours, theirs) == ("true", True),
        "az ml puts the boolean in Azure's property bag, a map of strings (THEIR_PROBLEMS); "
        "azure-native sends the bag's string spelling",
    ),
    Tolerated(
        "properties.properties.vmSize",
        same_ignoring_case,
        "VM sizes are case-insensitive in Azure; azure-ai-ml's default is spelled STANDARD_DS3_V2",
    ),
    # -- empty maps: absent and {} mean the same to Azure -----------------------------------
    Tolerated(
        "properties.traffic",
        empty,
        "amlkit never sends traffic with the endpoint (the traffic seam does, once deployments exist); azure-ai-ml sends {}",
    ),
    Tolerated("properties.mirrorTraffic", empty, "as traffic"),
    Tolerated("properties.properties", empty, "an empty property bag"),
    Tolerated("properties.resources.properties", empty, "an empty property bag"),
    Tolerated("properties.environmentVariables", empty, "no variables"),
]

THEIR_PROBLEMS = {
    ("wrong-type", "properties.properties.private-network-connection"): (
        "azure-ai-ml's ManagedOnlineDeployment._to_rest_object writes the YAML boolean into "
        "the property bag, which Azure's model types as a map of strings"
    ),
}
"""Where azure-ai-ml's own body fails Azure's models, with the reason; amlkit's never may."""

SAMPLES = example_files(lambda p: schema_kind(p) in NATIVE_TYPES)
PIPELINE_SAMPLES = example_files(lambda p: schema_kind(p) == "pipelineComponentBatchDeployment")
FIXTURE_PARAMS = VALID_FIXTURES


def _tolerance(path: str, ours: Any, theirs: Any) -> Tolerated | None:
    for entry in TOLERATED:
        pattern = re.escape(entry.path).replace(r"\*", "[^.]+")
        if re.fullmatch(pattern, path) and entry.check(ours, theirs):
            return entry
    return None


def _compare(file: Path) -> dict[str, Any]:
    """Both canonical bodies of one file, the model problems of each, every difference."""
    ours, our_problems = canonical(file, amlkit_body(file))
    theirs, their_problems = canonical(file, azure_ai_ml_body(file))
    return {
        "ours": ours,
        "theirs": theirs,
        "problems": (our_problems, their_problems),
        "differences": differences(ours, theirs),
    }


@pytest.fixture(scope="module")
def fixtures_compared() -> dict[str, dict[str, Any]]:
    return {relative: _compare(FIXTURES / relative) for relative in VALID_FIXTURES}


@pytest.fixture(scope="module")
def samples_compared(examples: Path) -> dict[str, dict[str, Any]]:
    return {relative: _compare(examples / relative) for relative in SAMPLES}


def _assert_same_body(one: dict[str, Any]) -> None:
    ours_problems, theirs_problems = one["problems"]
    assert ours_problems == [], "amlkit's body fails Azure's models"
    unexpected = [p for p in theirs_problems if (p.kind, p.path) not in THEIR_PROBLEMS]
    assert unexpected == [], "azure-ai-ml's body fails Azure's models"
    unexplained = {
        path: pair for path, pair in one["differences"].items() if _tolerance(path, *pair) is None
    }
    assert unexplained == {}, f"amlkit vs azure-ai-ml: {unexplained}"
    # the comparison is not vacuous: both bodies hold the file's properties
    assert one["ours"]["properties"] and one["theirs"]["properties"]


@pytest.mark.parametrize("relative", FIXTURE_PARAMS)
def test_amlkit_sends_what_azure_ai_ml_sends_for_each_fixture(
    fixtures_compared: dict[str, dict[str, Any]], relative: str
) -> None:
    _assert_same_body(fixtures_compared[relative])


@pytest.mark.parametrize("relative", SAMPLES)
def test_amlkit_sends_what_azure_ai_ml_sends_for_each_sample(
    samples_compared: dict[str, dict[str, Any]], relative: str
) -> None:
    _assert_same_body(samples_compared[relative])


def test_the_ssh_cluster_turns_local_auth_on_as_az_ml_does(
    fixtures_compared: dict[str, dict[str, Any]],
) -> None:
    """With ssh_settings, both send disableLocalAuth: false (the nodes' admin account);
    without, both send true."""
    ssh = fixtures_compared["compute/cluster-ssh.yml"]
    minimal = fixtures_compared["compute/cluster-minimal.yml"]
    for body in (ssh["ours"], ssh["theirs"]):
        assert body["properties"]["disableLocalAuth"] is False
        assert body["properties"]["properties"]["remoteLoginPortPublicAccess"] == "Enabled"
        assert body["properties"]["properties"]["userAccountCredentials"]["adminUserName"] == (
            "mlops"
        )
    for body in (minimal["ours"], minimal["theirs"]):
        assert body["properties"]["disableLocalAuth"] is True


def test_every_supported_kind_is_compared() -> None:
    assert {schema_kind(FIXTURES / f) for f in VALID_FIXTURES} == set(NATIVE_TYPES)


def test_every_sample_is_compared_or_pending(shared_examples: Path) -> None:
    """All 19 samples: 18 compared here, the pipeline-component one (its body has a
    component reference and settings, no model) in tests/components/test_pipeline_deployment.py."""
    assert sorted(SAMPLES + PIPELINE_SAMPLES) == example_files()
    assert (len(SAMPLES), len(PIPELINE_SAMPLES)) == (18, 1)
    assert {schema_kind(shared_examples / f) for f in SAMPLES} == set(NATIVE_TYPES)


def test_every_deliberate_difference_is_tolerated_by_its_own_entries() -> None:
    """Each entry of amlkit's table of differences explains body differences in this
    comparison, at each of the body paths it names (that each occurs in the fixtures:
    test_every_tolerated_difference_occurs)."""
    for difference in DIFFERENCES:
        paths = {t.path for t in TOLERATED if t.difference == difference.key}
        assert paths == set(difference.body_paths), difference.key


def test_every_tolerated_difference_occurs(fixtures_compared: dict[str, dict[str, Any]]) -> None:
    """The table lists what differs, no more: an entry nothing needs goes. The fixtures
    alone show every entry, so this holds without Microsoft's samples."""
    used = {
        entry.path
        for one in fixtures_compared.values()
        for path, pair in one["differences"].items()
        if (entry := _tolerance(path, *pair)) is not None
    }
    assert used == {entry.path for entry in TOLERATED}


def test_the_batch_default_is_written_once_deployed() -> None:
    """The check of `properties.defaults`: the endpoint goes without it, and the
    write-after-deployments resource carries the file's default deployment."""
    recording = amlkit_render(FIXTURES / "batch/endpoint.yml")
    (endpoint,) = recording.of_type("azure-native:machinelearningservices:BatchEndpoint")
    assert endpoint.inputs["properties"].get("defaults") is None
    (written,) = [
        r
        for r in recording.resources
        if r.custom
        and not r.type.startswith("azure-native:")
        and r.inputs.get("deploymentName") == "classifier"
    ]
    assert written.inputs["endpointName"] == "fixture-batch"


def test_the_bodies_agree_on_what_the_fixtures_set(
    fixtures_compared: dict[str, dict[str, Any]],
) -> None:
    """Spot checks of values both sides send, in Azure's spelling."""
    full = fixtures_compared["online/managed/deployment-full.yml"]
    for body in (full["ours"], full["theirs"]):
        props = body["properties"]
        assert props["livenessProbe"] == {
            "initialDelay": "PT20S",
            "period": "PT15S",
            "timeout": "PT5S",
            "successThreshold": 1,
            "failureThreshold": 5,
        }
        assert props["readinessProbe"]["successThreshold"] == 2
        assert props["requestSettings"] == {
            "requestTimeout": "PT10S",
            "maxConcurrentRequestsPerInstance": 2,
            "maxQueueWait": "PT1S",
        }
        assert (props["appInsightsEnabled"], props["egressPublicNetworkAccess"]) == (
            True,
            "Disabled",
        )
        assert props["environmentVariables"] == {"WORKER_COUNT": "2", "LOG_LEVEL": "info"}
        collector = props["dataCollector"]
        assert collector["rollingRate"] == "Day"
        assert {n: c["dataCollectionMode"] for n, c in collector["collections"].items()} == {
            "model_inputs": "Enabled",
            "model_outputs": "Enabled",
            "request": "Disabled",
        }
        assert collector["collections"]["model_inputs"]["samplingRate"] == 0.5
        assert collector["requestLogging"] == {"captureHeaders": ["x-request-id"]}
        assert body["sku"]["capacity"] == 3
    k8s = fixtures_compared["online/kubernetes/deployment-target-utilization.yml"]
    for body in (k8s["ours"], k8s["theirs"]):
        props = body["properties"]
        assert props["containerResourceRequirements"] == {
            "containerResourceRequests": {"cpu": "0.5", "memory": "1Gi"},
            "containerResourceLimits": {"cpu": "2", "memory": "4Gi"},
        }
        assert props["scaleSettings"] == {
            "scaleType": "TargetUtilization",
            "minInstances": 2,
            "maxInstances": 6,
            "pollingInterval": "PT10S",
            "targetUtilizationPercentage": 60,
        }
        assert props["instanceType"] == "cpu-small"
    batch = fixtures_compared["batch/deployment-model.yml"]
    for body in (batch["ours"], batch["theirs"]):
        props = body["properties"]
        assert (props["miniBatchSize"], props["maxConcurrencyPerInstance"]) == (5, 2)
        assert (props["errorThreshold"], props["loggingLevel"]) == (10, "Warning")
        assert (props["outputAction"], props["outputFileName"]) == (
            "AppendRow",
            "churn-scores.csv",
        )
        assert props["retrySettings"] == {"maxRetries": 2, "timeout": "PT2M"}
        assert props["resources"]["instanceCount"] == 2
    network = fixtures_compared["compute/cluster-network.yml"]
    for body in (network["ours"], network["theirs"]):
        cluster = body["properties"]["properties"]
        assert cluster["subnet"]["id"].endswith("/virtualNetworks/vnet-ml/subnets/snet-training")
        assert cluster["enableNodePublicIp"] is False
        assert body["identity"]["type"] == "UserAssigned"
        assert list(body["identity"]["userAssignedIdentities"]) == [
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-identities"
            "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-training"
        ]
    auth = {
        f: fixtures_compared[f"online/managed/endpoint-{f}.yml"]["theirs"]["properties"]["authMode"]
        for f in ("key", "aml-token", "aad-token")
    }
    assert auth == {"key": "Key", "aml-token": "AMLToken", "aad-token": "AADToken"}
    for f in ("key", "aml-token", "aad-token"):
        one = fixtures_compared[f"online/managed/endpoint-{f}.yml"]
        assert one["ours"]["properties"]["authMode"] == one["theirs"]["properties"]["authMode"]


def test_the_bodies_agree_on_what_the_samples_set(
    samples_compared: dict[str, dict[str, Any]],
) -> None:
    """Spot checks of values both sides send, in Azure's spelling."""
    compared = samples_compared
    batch = compared[
        "cli/endpoints/batch/deploy-models/heart-classifier-mlflow/deployment-simple/deployment.yml"
    ]
    for body in (batch["ours"], batch["theirs"]):
        props = body["properties"]
        assert props["loggingLevel"] == "Info"  # azure-ai-ml sends `info`: same enum value
        assert props["retrySettings"] == {"maxRetries": 3, "timeout": "PT5M"}
        assert (props["errorThreshold"], props["miniBatchSize"]) == (-1, 2)
    # MLflow without code or environment: both leave Azure to generate them (no-code deployment).
    ncd = compared["cli/endpoints/online/ncd/sklearn-deployment.yaml"]
    for body in (batch["ours"], batch["theirs"], ncd["ours"], ncd["theirs"]):
        assert "environmentId" not in body["properties"]
        assert "codeConfiguration" not in body["properties"]
    k8s = compared["cli/endpoints/online/kubernetes/kubernetes-blue-deployment.yml"]
    for body in (k8s["ours"], k8s["theirs"]):
        assert body["properties"]["requestSettings"]["requestTimeout"] == "PT3S"
        assert "instanceType" not in body["properties"]  # the cluster's default instance type
    minimal = compared["cli/resources/compute/cluster-minimal.yml"]
    for body in (minimal["ours"], minimal["theirs"]):
        assert body["properties"]["properties"]["scaleSettings"] == {
            "minNodeCount": 0,
            "maxNodeCount": 4,
            "nodeIdleTimeBeforeScaleDown": "PT2M",
        }


def test_the_kubernetes_samples_agree_on_resources_and_scaling(
    samples_compared: dict[str, dict[str, Any]],
) -> None:
    """Microsoft's Kubernetes samples: the compute, the container requests and limits and
    target-utilization scaling reach Azure as `az ml` sends them."""
    endpoint = samples_compared["cli/endpoints/online/kubernetes/kubernetes-endpoint.yml"]
    assert (
        endpoint["ours"]["properties"]["authMode"] == endpoint["theirs"]["properties"]["authMode"]
    )
    assert endpoint["ours"]["properties"]["compute"].endswith("/computes/inferencecompute")
    assert (
        endpoint["theirs"]["properties"]["compute"] == "inferencecompute"
    )  # its operations resolve it
    blue = samples_compared["cli/endpoints/online/kubernetes/kubernetes-blue-deployment.yml"]
    green = samples_compared["cli/endpoints/online/kubernetes/kubernetes-green-deployment.yml"]
    for body in (blue["ours"], blue["theirs"]):
        assert body["properties"]["endpointComputeType"] == "Kubernetes"
        assert body["properties"]["containerResourceRequirements"] == {
            "containerResourceRequests": {"cpu": "0.1", "memory": "0.1Gi"},
            "containerResourceLimits": {"cpu": "0.2", "memory": "200Mi"},
        }
    for body in (green["ours"], green["theirs"]):
        assert body["properties"]["instanceType"] == "defaultinstancetype"
        assert body["properties"]["scaleSettings"] == {
            "scaleType": "TargetUtilization",
            "minInstances": 1,
            "maxInstances": 3,
            "pollingInterval": "PT10S",
            "targetUtilizationPercentage": 70,
        }
        assert body["properties"]["containerResourceRequirements"] == {
            "containerResourceRequests": {"cpu": "0.1", "memory": "0.1Gi"}
        }


def test_data_collector_assets_are_registered_as_az_ml_registers_them() -> None:
    """`az ml online-deployment create` registers one data asset a collection before the
    PUT (its `_register_collection_data_assets`, run here on azure-ai-ml's entity) and
    sends each id as `dataId`; amlkit registers the same assets, at the same paths, and
    the deployment references them (the deployment body itself is compared above)."""
    file = FIXTURES / "online/managed/deployment-full.yml"
    recording = amlkit_render(file)
    ours = {k: canonical_data(b) for k, b in amlkit_data_bodies(recording).items()}
    theirs = {k: canonical_data(b) for k, b in azure_ai_ml_data_bodies(file).items()}
    assert (
        sorted(ours)
        == sorted(theirs)
        == [
            "fixture-aml-token-full-model_inputs:1",
            "fixture-aml-token-full-request:1",
            "fixture-churn-outputs:2",
        ]
    )
    for key in ours:
        unexplained = {
            path: pair
            for path, pair in differences(ours[key], theirs[key]).items()
            if not empty(*pair)
        }
        assert unexplained == {}, key
    assert ours["fixture-churn-outputs:2"]["properties"]["dataUri"] == (
        "azureml://datastores/workspaceblobstore/paths/churn/outputs"
    )
    assert ours["fixture-aml-token-full-request:1"]["properties"]["dataUri"] == (
        "azureml://datastores/workspaceblobstore/paths/modelDataCollector/fixture-aml-token/full/request"
    )
    collections = amlkit_body(file, recording)["properties"]["dataCollector"]["collections"]
    assert collections["model_outputs"]["dataId"].endswith(
        "/workspaces/mlw-amlkit-test/data/fixture-churn-outputs/versions/2"
    )
    # each dataId is the id of a data asset the same plan registers
    registered = {r.outputs["id"] for r in recording.of_type(f"{ML}:DataVersion")}
    assert {c["dataId"] for c in collections.values()} == registered


def canonical_data(body: dict[str, Any]) -> dict[str, Any]:
    model = azure_models.model_for(f"{ML}:DataVersion")
    assert model is not None
    checked, problems = check_body(body, model)
    assert problems == []
    return checked
