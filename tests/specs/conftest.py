"""A valid stack config, written to a temporary folder with the files it names."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from amlkit.specs import ConfigError, StackSpec, build_stack_spec

BASE: dict[str, Any] = {
    "scoring_image": {"context": "image"},
    "environment": {"name": "test", "location": "westeurope", "tags": {"owner": "ml"}},
    "identities": [{"name": "endpoint"}],
    "compute": [{"name": "cpu-cluster", "min_instances": 0, "max_instances": 2}],
    "online_endpoints": [
        {
            "name": "test-score",
            "auth_mode": "aml_token",
            "traffic": {"blue": 90, "green": 10},
            "deployments": [
                {
                    "name": "blue",
                    "model": {"path": "model"},
                    "code_configuration": {"code": "code", "scoring_script": "score.py"},
                    "instance_type": "Standard_DS3_v2",
                    "instance_count": 3,
                    "autoscale": {"min_instances": 3, "max_instances": 10},
                },
                {
                    "name": "green",
                    "model": "azureml:classifier:2",
                    "code_configuration": {"code": "code", "scoring_script": "score.py"},
                    "instance_type": "Standard_DS3_v2",
                    "instance_count": 1,
                },
                {
                    "name": "shadow",
                    "model": "azureml:classifier:3",
                    "code_configuration": {"code": "code", "scoring_script": "score.py"},
                    "instance_type": "Standard_DS3_v2",
                    "instance_count": 1,
                },
            ],
        }
    ],
    "batch_endpoints": [
        {
            "name": "test-batch",
            "deployments": [
                {
                    "name": "classifier",
                    "model": {"path": "model"},
                    "code_configuration": {"code": "code", "scoring_script": "score.py"},
                    "compute": "azureml:cpu-cluster",
                }
            ],
        }
    ],
}


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    (tmp_path / "image").mkdir()
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.joblib").write_bytes(b"model")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(
        "def init():\n    pass\n\ndef run(raw):\n    return raw\n"
    )
    return tmp_path


Build = Callable[[Callable[[dict[str, Any]], object] | None], StackSpec]
Problems = Callable[[Callable[[dict[str, Any]], object]], list[str]]


@pytest.fixture
def build(stack_dir: Path) -> Build:
    def _build(mutate: Callable[[dict[str, Any]], object] | None = None) -> StackSpec:
        values = copy.deepcopy(BASE)
        if mutate is not None:
            mutate(values)
        return build_stack_spec(values, source=stack_dir / "Pulumi.test.yaml")

    return _build


@pytest.fixture
def problems(build: Build) -> Problems:
    """The problem lines a mutated config yields (it must yield some)."""

    def _problems(mutate: Callable[[dict[str, Any]], object]) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            build(mutate)
        lines = str(caught.value).splitlines()
        assert lines, "a ConfigError must name at least one problem"
        return lines

    return _problems
