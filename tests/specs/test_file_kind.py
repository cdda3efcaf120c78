"""A CLI v2 file's kind, decided as azure-ai-ml decides it: the place in the stack (the
`az ml` command), then `type`, then `$schema` read without regard to case."""

from __future__ import annotations

from pathlib import Path

import pytest

from amlkit.specs import (
    BatchDeploymentSpec,
    ComputeClusterSpec,
    OnlineDeploymentSpec,
    PipelineBatchDeploymentSpec,
)
from amlkit.specs.cli_yaml import Kind, load_cli_yaml, read_document
from amlkit.specs.errors import ConfigError
from tests.cli_v2 import FIXTURES

ONLINE = FIXTURES / "online/managed/deployment-registered.yml"
BATCH = FIXTURES / "batch/deployment-registered.yml"


def _one_line(file: Path, expected: Kind | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        read_document(file, expected)
    (line,) = str(caught.value).splitlines()
    return line


def _write(tmp_path: Path, text: str, name: str = "file.yml") -> Path:
    file = tmp_path / name
    file.write_text(text)
    return file


def test_schema_spelling_does_not_decide_the_kind() -> None:
    spec = load_cli_yaml(FIXTURES / "batch/deployment-schema-case.yml", "batch_deployment")
    assert isinstance(spec, BatchDeploymentSpec)
    assert spec.name == "schema-case"
    online = load_cli_yaml(FIXTURES / "online/managed/deployment-private-network.yml")
    assert isinstance(online, OnlineDeploymentSpec)


def test_an_online_deployment_where_a_batch_deployment_goes(tmp_path: Path) -> None:
    line = _one_line(ONLINE, "batch_deployment")
    assert str(ONLINE.name) in line
    assert "$schema" in line
    assert "holds an online deployment, but a batch deployment (batch_endpoints[]" in line
    # without $schema, `type: managed` says the same
    bare = _write(tmp_path, "name: blue\ntype: managed\ninstance_type: Standard_DS3_v2\n")
    line = _one_line(bare, "batch_deployment")
    assert "type" in line and "holds an online deployment" in line


def test_a_batch_deployment_where_an_online_deployment_goes(tmp_path: Path) -> None:
    assert "holds a batch deployment, but an online deployment" in _one_line(
        BATCH, "online_deployment"
    )
    bare = _write(tmp_path, "name: b\ntype: Model\nmodel: azureml:m:1\n")
    assert "holds a batch deployment" in _one_line(bare, "online_deployment")


def test_an_endpoint_where_a_cluster_goes() -> None:
    endpoint = FIXTURES / "online/managed/endpoint-key.yml"
    line = _one_line(endpoint, "compute")
    assert "holds an online endpoint, but a compute cluster (compute[]) goes here" in line


def test_the_place_decides_where_schema_is_absent(tmp_path: Path) -> None:
    text = (
        "name: cpu\ntype: amlcompute\nsize: Standard_DS3_v2\nmin_instances: 0\nmax_instances: 2\n"
    )
    kind, _ = read_document(_write(tmp_path, text), "compute")
    assert kind == "compute"
    assert isinstance(load_cli_yaml(tmp_path / "file.yml", "compute"), ComputeClusterSpec)
    assert "$schema: is missing; amlkit cannot tell what this file holds" in _one_line(
        tmp_path / "file.yml"
    )


@pytest.mark.parametrize(
    ("text", "expected", "reason"),
    [
        (
            "type: computeinstance\nname: ci\nsize: Standard_DS3_v2\n",
            "compute",
            "compute instances",
        ),
        ("type: ComputeInstance\nname: ci\n", "compute", "compute instances"),
        ("type: virtualmachine\nname: vm\n", "compute", "attached virtual machines"),
        ("type: kubernetes\nname: k8s\n", "compute", "Kubernetes compute files"),
        (
            "$schema: https://azuremlschemas.azureedge.net/latest/computeInstance.schema.json\n"
            "name: ci\n",
            None,
            "compute instances",
        ),
        (
            "$schema: https://azuremlschemas.azureedge.net/latest/VMCompute.schema.json\n",
            "compute",
            "attached virtual machines",
        ),
    ],
)
def test_compute_instances_and_attached_compute_are_refused_with_the_reason(
    tmp_path: Path, text: str, expected: Kind | None, reason: str
) -> None:
    line = _one_line(_write(tmp_path, text), expected)
    assert f"amlkit does not support {reason}" in line
    assert "file.yml" in line


def test_type_pipeline_decides_a_pipeline_deployment_whatever_its_schema(
    tmp_path: Path,
) -> None:
    """`type: Pipeline` (any case) under a model deployment's `$schema` loads as a
    pipeline-component deployment, as `az ml batch-deployment create` picks its loader by
    `type`; `type: model` under a pipeline `$schema` loads as a model deployment; a
    pipeline `$schema` without `type` is told it needs one."""
    schema = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
    body = "name: pipe\ncomponent: azureml:c@latest\nsettings: {default_compute: cpu}\n"
    typed = _write(
        tmp_path, f"$schema: {schema.format('modelBatchDeployment')}\ntype: Pipeline\n{body}"
    )
    spec = load_cli_yaml(typed, "batch_deployment", check_paths=False)
    assert isinstance(spec, PipelineBatchDeploymentSpec)
    assert spec.component == "azureml:c@latest"
    pipeline_schema = schema.format("PipelineComponentBatchDeployment")
    model = _write(
        tmp_path,
        f"$schema: {pipeline_schema}\nname: mod\ntype: model\nmodel: azureml:m:1\n"
        "compute: azureml:cpu\n",
        "m.yml",
    )
    assert isinstance(load_cli_yaml(model, "batch_deployment"), BatchDeploymentSpec)
    untyped = _write(tmp_path, f"$schema: {pipeline_schema}\n{body}", "untyped.yml")
    with pytest.raises(ConfigError, match=r"untyped\.yml: type: is required"):
        load_cli_yaml(untyped, "batch_deployment")


def test_a_compute_instance_inline_in_a_stack_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="amlkit does not support compute instances"):
        ComputeClusterSpec.model_validate({"name": "ci-1", "type": "ComputeInstance"})
