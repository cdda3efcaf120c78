"""The project's own CLI v2 fixtures (tests/fixtures/cli-v2/), the corpus that runs on
a bare clone: every valid file loads in amlkit and in azure-ai-ml with the same
values; every invalid file is refused in one line naming the file, the field and
what is wrong, and azure-ai-ml's verdict on it is the one its header states."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from marshmallow import ValidationError

from amlkit.specs import (
    BatchDeploymentSpec,
    BatchEndpointSpec,
    ComputeClusterSpec,
    ConfigError,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    build_stack_spec,
    load_cli_yaml,
)
from amlkit.specs.errors import display_path
from tests.cli_v2 import (
    FIXTURES,
    INVALID_FIXTURES,
    SPECS,
    VALID_FIXTURES,
    azure_ai_ml_load,
    disagreements,
    schema_kind,
)

# invalid file -> (words naming the field, words of the message, does azure-ai-ml load it?)
REFUSED: dict[str, tuple[str, str, bool]] = {
    "invalid/deployment-wrong-type.yml": (
        "instance_count = 'three'",
        "must be a whole number",
        False,
    ),
    "invalid/deployment-unknown-field.yml": (
        "request_setting:",
        "is not a known field (check the spelling against Azure ML CLI v2)",
        False,
    ),
    # Deliberate: batch endpoints take Entra tokens only (DESIGN.md); azure-ai-ml loads `key`.
    "invalid/batch-endpoint-key-auth.yml": (
        "auth_mode 'key'",
        "batch endpoints take `aad_token` only",
        True,
    ),
    # Deliberate: amlkit sends identities by ARM id and looks nothing up; az ml looks
    # a client_id up before the PUT.
    "invalid/endpoint-client-id.yml": (
        "identity.user_assigned_identities[0]",
        "client_id: amlkit names a user-assigned identity by `resource_id`",
        True,
    ),
}
IN_A_STACK = "invalid/endpoint-traffic-sum.yml"
"""Traffic names deployments, so the file is refused on its own for naming unknown ones;
the sum rule shows when the stack gives it those deployments."""
SUBNET_WITHOUT_VNET = "invalid/cluster-subnet-without-vnet.yml"
AZURE_AI_ML_LOADS = {f for f, (_, _, loads) in REFUSED.items() if loads} | {
    IN_A_STACK,
    SUBNET_WITHOUT_VNET,
}


def _problem_lines(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    lines = str(error.value).splitlines()
    assert lines, "a ConfigError names at least one problem"
    return lines


# -- valid files ---------------------------------------------------------------------------


@pytest.mark.parametrize("relative", VALID_FIXTURES)
def test_fixture_loads_as_its_kind(relative: str) -> None:
    file = FIXTURES / relative
    spec = load_cli_yaml(file)
    assert isinstance(spec, SPECS[schema_kind(file)])
    assert spec.name == yaml.safe_load(file.read_text())["name"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("relative", VALID_FIXTURES)
def test_azure_ai_ml_reads_the_values_amlkit_reads(relative: str) -> None:
    """azure-ai-ml, Azure's own loader, accepts the file and holds every value it sets
    as amlkit does."""
    file = FIXTURES / relative
    assert disagreements(load_cli_yaml(file), azure_ai_ml_load(file), file) == {}


def test_the_comparison_with_azure_ai_ml_sees_a_changed_value() -> None:
    file = FIXTURES / "online/managed/deployment-full.yml"
    ours = load_cli_yaml(file)
    assert isinstance(ours, OnlineDeploymentSpec)
    theirs = azure_ai_ml_load(file)
    probe = ours.liveness_probe.model_copy(update={"period": 16})
    changed = ours.model_copy(update={"instance_count": 4, "liveness_probe": probe})
    assert disagreements(changed, theirs, file) == {
        "instance_count": (4, 3),
        "liveness_probe.period": (16, 15),
    }


def test_the_fixtures_cover_every_kind_and_choice() -> None:
    specs = [load_cli_yaml(FIXTURES / f) for f in VALID_FIXTURES]
    assert {schema_kind(FIXTURES / f) for f in VALID_FIXTURES} == set(SPECS)
    endpoints = [s for s in specs if isinstance(s, OnlineEndpointSpec)]
    assert {e.auth_mode for e in endpoints} == {"key", "aml_token", "aad_token"}
    assert {e.identity.type for e in endpoints if e.identity} == {
        "system_assigned",
        "user_assigned",
    }
    assert {e.kind for e in endpoints} == {"managed", "kubernetes"}
    deployments = [s for s in specs if isinstance(s, OnlineDeploymentSpec)]
    assert {d.scale_settings.type for d in deployments if d.scale_settings} == {
        "default",
        "target_utilization",
    }
    assert {isinstance(d.model, str) for d in deployments} == {True, False}  # azureml: and local
    clusters = [s for s in specs if isinstance(s, ComputeClusterSpec)]
    assert {c.tier for c in clusters} == {"dedicated", "low_priority"}
    assert any(c.network_settings and c.identity for c in clusters)
    assert any(c.ssh_settings and c.ssh_public_access_enabled for c in clusters)


def test_values_and_defaults_as_amlkit_reads_them() -> None:
    full = load_cli_yaml(FIXTURES / "online/managed/deployment-full.yml")
    assert isinstance(full, OnlineDeploymentSpec)
    assert full.code_configuration is not None
    assert full.code_configuration.code == str(FIXTURES / "onlinescoring")  # against the file
    assert not isinstance(full.model, str) and full.model is not None
    assert (full.model.name, full.model.version) == ("fixture-churn", "3")  # YAML `version: 3`
    assert not isinstance(full.environment, str) and full.environment is not None
    assert full.environment.inference_config is not None
    assert full.environment.inference_config.scoring_route.path == "/score"
    assert full.data_collector is not None
    assert full.data_collector.collections["request"].enabled == "false"  # written 'False'

    summary = load_cli_yaml(FIXTURES / "batch/deployment-registered.yml")
    assert isinstance(summary, BatchDeploymentSpec)
    settings = summary.settings
    assert (settings.output_action, settings.logging_level) == ("summary_only", "debug")
    # Azure's defaults for what the file leaves out (CLI v2 reference)
    assert (settings.max_concurrency_per_instance, settings.error_threshold) == (1, -1)
    assert (settings.retry_settings.max_retries, settings.retry_settings.timeout) == (3, 30)
    assert summary.compute_name == "batch-cluster"

    minimal = load_cli_yaml(FIXTURES / "compute/cluster-minimal.yml")
    assert isinstance(minimal, ComputeClusterSpec)
    assert (minimal.size, minimal.tier) == ("Standard_DS3_v2", "dedicated")
    assert (minimal.min_instances, minimal.max_instances) == (0, 4)  # az ml sends 4
    assert (minimal.idle_time_before_scale_down, minimal.ssh_public_access_enabled) == (120, False)

    green = load_cli_yaml(FIXTURES / "online/kubernetes/deployment-default-scale.yml")
    assert isinstance(green, OnlineDeploymentSpec)
    assert (green.instance_type, green.instance_count) == (None, None)  # the cluster's default
    assert green.request_settings.max_concurrent_requests_per_instance == 1

    batch = load_cli_yaml(FIXTURES / "batch/endpoint.yml")
    assert isinstance(batch, BatchEndpointSpec)
    assert batch.default_deployment == "classifier"


# -- the fixtures in a stack ------------------------------------------------------------------


def _stack(online: dict[str, Any]) -> dict[str, Any]:
    """A stack that names the fixture files as a team would (paths relative to it)."""
    return {
        "environment": {"name": "test", "location": "westeurope"},
        "scoring_image": {"context": "../../../runtime-image"},  # relative to the stack file
        "compute": ["compute/cluster-low-priority.yml", "compute/cluster-minimal.yml"],
        "online_endpoints": [online],
        "batch_endpoints": [
            {
                "file": "batch/endpoint.yml",
                "deployments": ["batch/deployment-model.yml", "batch/deployment-registered.yml"],
            }
        ],
    }


SPLIT = {
    "deployments": [
        {"file": "online/managed/deployment-minimal.yml", "endpoint_name": "fixture-split"},
        {"file": "online/managed/deployment-registered.yml", "endpoint_name": "fixture-split"},
    ],
}


def test_the_fixtures_compose_into_a_stack() -> None:
    online = {"file": IN_A_STACK, **SPLIT, "traffic": {"minimal": 70, "registered": 30}}
    spec = build_stack_spec(_stack(online), source=FIXTURES / "Pulumi.fixtures.yaml")
    (endpoint,) = spec.online_endpoints
    assert [d.name for d in endpoint.deployments] == ["minimal", "registered"]
    assert endpoint.traffic == {"minimal": 70, "registered": 30}
    (batch,) = spec.batch_endpoints
    assert (batch.default_deployment, len(batch.deployments)) == ("classifier", 2)
    assert [c.name for c in spec.compute] == ["batch-cluster", "minimal-cpu"]


def test_traffic_that_does_not_sum_to_100_is_refused_before_anything_is_sent() -> None:
    """azure-ai-ml loads the file (it checks only sum <= 100) and Azure would refuse the
    traffic update mid-deploy; amlkit refuses it at config time, naming the file."""
    with pytest.raises(ConfigError) as caught:
        build_stack_spec(
            _stack({"file": IN_A_STACK, **SPLIT}), source=FIXTURES / "Pulumi.fixtures.yaml"
        )
    (line,) = _problem_lines(caught)
    assert line.startswith(f"{display_path(FIXTURES / IN_A_STACK)}: ")
    assert "traffic sums to 90; Azure takes 0 or 100" in line


# -- invalid files -----------------------------------------------------------------------------


def test_every_invalid_fixture_has_its_test() -> None:
    assert set(INVALID_FIXTURES) == set(REFUSED) | {IN_A_STACK, SUBNET_WITHOUT_VNET}


@pytest.mark.parametrize("relative", sorted(REFUSED))
def test_invalid_fixture_is_refused_in_one_line(relative: str) -> None:
    field, words, _ = REFUSED[relative]
    with pytest.raises(ConfigError) as caught:
        load_cli_yaml(FIXTURES / relative)
    (line,) = _problem_lines(caught)
    assert line.startswith(f"{display_path(FIXTURES / relative)}: {field}")
    assert words in line


def test_a_subnet_without_vnet_name_is_refused_at_load() -> None:
    with pytest.raises(ConfigError) as caught:
        load_cli_yaml(FIXTURES / SUBNET_WITHOUT_VNET)
    (line,) = _problem_lines(caught)
    assert "network_settings" in line and "vnet_name" in line


@pytest.mark.parametrize("relative", INVALID_FIXTURES)
def test_azure_ai_ml_verdict_is_the_one_the_file_states(relative: str) -> None:
    """Each file's header says whether azure-ai-ml accepts it, and so it does: the ones
    it accepts amlkit refuses on purpose, and the header says why."""
    file = FIXTURES / relative
    header = " ".join(file.read_text().split("$schema")[0].replace("#", " ").split())
    if relative in AZURE_AI_ML_LOADS:
        assert "azure-ai-ml accepts it" in header
        assert azure_ai_ml_load(file).name == yaml.safe_load(file.read_text())["name"]
    else:
        assert "azure-ai-ml refuses it too" in header
        with pytest.raises(ValidationError):
            azure_ai_ml_load(file)


# -- the files the fixtures name ------------------------------------------------------------


def _script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected(features: list[float]) -> float:
    weights, bias = [-0.04, 0.02, 0.3], -0.5  # tests/fixtures/cli-v2/model/weights.json
    return 1 / (1 + math.exp(-(bias + sum(w * x for w, x in zip(weights, features, strict=True)))))


def test_the_online_script_scores_with_the_fixture_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(FIXTURES / "model"))
    score = _script(FIXTURES / "onlinescoring/score.py")
    score.init()
    result = score.run('{"data": [[12, 70.5, 1], [48, 20.0, 0]]}')
    assert result == pytest.approx([_expected([12, 70.5, 1]), _expected([48, 20.0, 0])])
    assert result[0] > 0.5 > result[1]


def test_the_batch_script_scores_each_row(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(FIXTURES / "model"))
    extract = tmp_path / "customers.csv"
    extract.write_text(
        "customer,tenure_months,monthly_charges,support_calls\na,12,70.5,1\nb,48,20.0,0\n"
    )
    batch = _script(FIXTURES / "batchscoring/batch_score.py")
    batch.init()
    assert batch.run([str(extract)]) == [
        f"customers.csv,0,{_expected([12, 70.5, 1]):.6f}",
        f"customers.csv,1,{_expected([48, 20.0, 0]):.6f}",
    ]
