"""Every CLI v2 file of Microsoft's samples loads as it is; unsupported kinds say so in one line.

The samples live outside the repository (`EXAMPLES`); without them these tests skip
with the reason (tests/conftest.py), and the project's own fixtures get the same
checks (test_cli_v2_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from amlkit.specs import (
    BatchDeploymentSpec,
    ComputeClusterSpec,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    load_cli_yaml,
)
from tests.cli_v2 import SPECS, azure_ai_ml_load, disagreements, schema_kind
from tests.conftest import example_files

PIPELINES = {"cli/endpoints/batch/deploy-pipelines/hello-batch/deployment.yml"}
"""Pipeline-component batch deployments: loaded and compared with azure-ai-ml in
tests/specs/test_pipeline_deployment.py."""
SUPPORTED = example_files(lambda p: schema_kind(p) in SPECS)


def test_the_snapshot_has_the_expected_files(shared_examples: Path) -> None:
    assert len(example_files()) == 19
    assert sorted(set(example_files()) - set(SUPPORTED)) == sorted(PIPELINES)


@pytest.mark.parametrize("relative", SUPPORTED)
def test_supported_file_loads(examples: Path, relative: str) -> None:
    spec = load_cli_yaml(examples / relative)
    raw = yaml.safe_load((examples / relative).read_text())
    assert spec.name == raw["name"]  # type: ignore[attr-defined]
    assert isinstance(spec, SPECS[schema_kind(examples / relative)])


@pytest.mark.parametrize("relative", SUPPORTED)
def test_azure_ai_ml_reads_the_values_amlkit_reads(examples: Path, relative: str) -> None:
    """azure-ai-ml, Azure's own loader, holds every value the file sets as amlkit does."""
    file = examples / relative
    assert disagreements(load_cli_yaml(file), azure_ai_ml_load(file), file) == {}


def test_values_and_defaults_as_azure_ml_reads_them(examples: Path) -> None:
    k8s = load_cli_yaml(examples / "cli/endpoints/online/kubernetes/kubernetes-endpoint.yml")
    assert isinstance(k8s, OnlineEndpointSpec)
    assert k8s.auth_mode == "key"  # written `Key`: CLI v2 enums are case-insensitive
    assert k8s.kind == "kubernetes"

    green = load_cli_yaml(
        examples / "cli/endpoints/online/kubernetes/kubernetes-green-deployment.yml"
    )
    assert isinstance(green, OnlineDeploymentSpec)
    assert green.scale_settings is not None
    assert (green.scale_settings.type, green.scale_settings.max_instances) == (
        "target_utilization",
        3,
    )
    assert green.resources is not None and green.resources.requests is not None
    assert green.resources.requests.memory == "0.1Gi"

    ncd = load_cli_yaml(examples / "cli/endpoints/online/ncd/sklearn-deployment.yaml")
    assert isinstance(ncd, OnlineDeploymentSpec)
    assert not isinstance(ncd.model, str) and ncd.model is not None
    assert (ncd.model.version, ncd.model.type) == ("2", "mlflow_model")  # YAML `version: 2`
    assert ncd.request_settings.request_timeout_ms == 5000  # CLI v2 default
    assert ncd.liveness_probe.failure_threshold == 30

    batch = load_cli_yaml(
        examples
        / "cli/endpoints/batch/deploy-models/heart-classifier-mlflow/deployment-simple/deployment.yml"
    )
    assert isinstance(batch, BatchDeploymentSpec)
    assert batch.model == "azureml:heart-classifier-mlflow@latest"
    assert batch.settings.retry_settings.timeout == 300
    assert batch.compute_name == "batch-cluster"

    minimal = load_cli_yaml(examples / "cli/resources/compute/cluster-minimal.yml")
    assert isinstance(minimal, ComputeClusterSpec)
    # 4, not the YAML reference's 1: what `az ml compute create` (azure-ai-ml) sends
    assert (minimal.size, minimal.min_instances, minimal.max_instances) == ("Standard_DS3_v2", 0, 4)
    assert minimal.idle_time_before_scale_down == 120

    low = load_cli_yaml(examples / "cli/resources/compute/cluster-low-priority.yml")
    assert isinstance(low, ComputeClusterSpec) and low.tier == "low_priority"


def test_local_paths_resolve_against_the_file(examples: Path) -> None:
    blue = load_cli_yaml(examples / "cli/endpoints/online/managed/sample/blue-deployment.yml")
    assert isinstance(blue, OnlineDeploymentSpec)
    assert blue.code_configuration is not None
    assert blue.code_configuration.code == str(
        (examples / "cli/endpoints/online/model-1/onlinescoring").resolve()
    )
