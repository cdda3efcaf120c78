"""For each CLI v2 file of Microsoft's samples that amlkit supports, the request body
amlkit sends equals the one azure-ai-ml (what `az ml` runs) sends, apart from the
differences listed in TOLERATED, each with its reason and a check of its own.

Both bodies are compared in the canonical form of Azure's models (enum values
case-insensitive, one spelling a duration), and both must pass the models.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.fidelity import KINDS, amlkit_body, azure_ai_ml_body, canonical, differences, schema_kind

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


def one_of(*values: Any) -> Check:
    return lambda ours, theirs: theirs is None and ours in values


@dataclass(frozen=True)
class Tolerated:
    path: str
    """A dotted body path; `*` matches within one segment."""
    check: Check
    reason: str


PROBE_DEFAULTS = {
    "initialDelay": "PT10S",
    "period": "PT10S",
    "timeout": "PT2S",
    "successThreshold": 1,
    "failureThreshold": 30,
}

TOLERATED = [
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
    Tolerated(
        "kind",
        one_of("Managed", "Kubernetes"),
        "ARM's `kind` (portal metadata) names the endpoint type; azure-ai-ml leaves it out",
    ),
    Tolerated(
        "location",
        default("westeurope"),
        "clusters: azure-ai-ml's compute operations fill in the workspace's region before the PUT; amlkit sends it",
    ),
    Tolerated(
        "identity",
        default({"type": "SystemAssigned"}),
        "batch endpoints: amlkit gives them a system-assigned identity explicitly (Azure ML's default for endpoints)",
    ),
    Tolerated(
        "tags",
        default({"environment": "test", "managed-by": "amlkit"}),
        "amlkit's stack tags (components/tags.py) on every resource",
    ),
    Tolerated("tags.environment", default("test"), "amlkit's stack tags"),
    Tolerated("tags.managed-by", default("amlkit"), "amlkit's stack tags"),
    # -- deliberate ------------------------------------------------------------------------
    Tolerated(
        "properties.properties.remoteLoginPortPublicAccess",
        lambda ours, theirs: (ours, theirs) == ("Disabled", "NotSpecified"),
        "SSH closed unless the file enables it (checkov CKV_AZURE_142 spirit); azure-ai-ml leaves the choice to Azure",
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

SUPPORTED = sorted(
    str(p.relative_to(EXAMPLES))
    for p in EXAMPLES.rglob("*.y*ml")
    if p.name != "README.md" and schema_kind(p) in KINDS
)


def _tolerance(path: str, ours: Any, theirs: Any) -> Tolerated | None:
    for entry in TOLERATED:
        pattern = re.escape(entry.path).replace(r"\*", "[^.]+")
        if re.fullmatch(pattern, path) and entry.check(ours, theirs):
            return entry
    return None


@pytest.fixture(scope="module")
def compared(examples: Path) -> dict[str, dict[str, Any]]:
    """For each supported file: both canonical bodies, the model problems of each, and
    every difference."""
    result: dict[str, dict[str, Any]] = {}
    for relative in SUPPORTED:
        file = examples / relative
        ours, our_problems = canonical(file, amlkit_body(file))
        theirs, their_problems = canonical(file, azure_ai_ml_body(file))
        result[relative] = {
            "ours": ours,
            "theirs": theirs,
            "problems": (our_problems, their_problems),
            "differences": differences(ours, theirs),
        }
    return result


def test_every_supported_kind_is_compared() -> None:
    assert len(SUPPORTED) == 18  # 19 samples, one pipeline-component batch deployment
    assert {schema_kind(EXAMPLES / f) for f in SUPPORTED} == set(KINDS)


@pytest.mark.parametrize("relative", SUPPORTED)
def test_amlkit_sends_what_azure_ai_ml_sends(
    compared: dict[str, dict[str, Any]], relative: str
) -> None:
    one = compared[relative]
    ours_problems, theirs_problems = one["problems"]
    assert ours_problems == [], "amlkit's body fails Azure's models"
    assert theirs_problems == [], "azure-ai-ml's body fails Azure's models"
    unexplained = {
        path: pair for path, pair in one["differences"].items() if _tolerance(path, *pair) is None
    }
    assert unexplained == {}, f"amlkit vs azure-ai-ml: {unexplained}"
    # the comparison is not vacuous: the values the file sets agree
    assert one["ours"]["properties"] and one["theirs"]["properties"]


def test_the_bodies_agree_on_what_the_files_set(compared: dict[str, dict[str, Any]]) -> None:
    """Spot checks of values both sides send, in Azure's spelling."""
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


def test_every_tolerated_difference_occurs(compared: dict[str, dict[str, Any]]) -> None:
    """The table lists what differs, no more: an entry nothing needs goes."""
    used = {
        entry.path
        for one in compared.values()
        for path, pair in one["differences"].items()
        if (entry := _tolerance(path, *pair)) is not None
    }
    assert used == {entry.path for entry in TOLERATED}


def test_the_kubernetes_samples_agree_on_resources_and_scaling(
    compared: dict[str, dict[str, Any]],
) -> None:
    """Microsoft's Kubernetes samples: the compute, the container requests and limits and
    target-utilization scaling reach Azure as `az ml` sends them."""
    endpoint = compared["cli/endpoints/online/kubernetes/kubernetes-endpoint.yml"]
    assert (
        endpoint["ours"]["properties"]["authMode"] == endpoint["theirs"]["properties"]["authMode"]
    )
    assert endpoint["ours"]["properties"]["compute"].endswith("/computes/inferencecompute")
    assert (
        endpoint["theirs"]["properties"]["compute"] == "inferencecompute"
    )  # its operations resolve it
    blue = compared["cli/endpoints/online/kubernetes/kubernetes-blue-deployment.yml"]
    green = compared["cli/endpoints/online/kubernetes/kubernetes-green-deployment.yml"]
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
