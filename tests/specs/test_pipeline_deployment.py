"""Pipeline-component batch deployments (`type: pipeline`) load as `az ml` reads them:
the project's fixtures (a local pipeline component with its command steps and code, a
registered component, a deployment from a job) and Microsoft's hello-batch sample, with
the values azure-ai-ml reads; bad files are refused in one line naming file and field."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from amlkit.specs import (
    BatchEndpointSpec,
    CommandComponentSpec,
    ConfigError,
    PipelineBatchDeploymentSpec,
    build_stack_spec,
    load_cli_yaml,
)
from tests.cli_v2 import FIXTURES
from tests.conftest import ROOT

PIPELINE = FIXTURES / "pipeline"
HELLO = "cli/endpoints/batch/deploy-pipelines/hello-batch/deployment.yml"
DEPLOYMENTS = ["deployment.yml", "deployment-registered.yml", "deployment-from-job.yml"]


def _load(file: Path) -> PipelineBatchDeploymentSpec:
    spec = load_cli_yaml(file)
    assert isinstance(spec, PipelineBatchDeploymentSpec)
    return spec


def _azure_ai_ml(file: Path) -> Any:
    from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

    return load_pipeline_component_batch_deployment(file)


def test_a_local_pipeline_component_loads_with_its_steps_and_code() -> None:
    spec = _load(PIPELINE / "deployment.yml")
    component = spec.local_component
    assert component is not None
    assert (component.name, component.version) == ("prepare_score", "1")
    assert list(component.jobs) == ["prepare", "score"]
    assert component.step_order() == ["prepare", "score"]
    prepare = component.jobs["prepare"].local
    assert isinstance(prepare, CommandComponentSpec)
    # Paths relative to the file that names them: the step's component file, then its code.
    assert prepare.code == str((PIPELINE / "src" / "prepare").resolve())
    assert component.inputs["threshold"].default == 0.5
    assert spec.settings.rest() == {
        "default_compute": "batch-cluster",
        "default_datastore": "workspaceblobstore",
        "continue_on_step_failure": "false",
        "force_rerun": "true",
    }
    assert spec.settings.compute_name == "batch-cluster"


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_azure_ai_ml_reads_the_values_amlkit_reads(name: str) -> None:
    ours, theirs = _load(PIPELINE / name), _azure_ai_ml(PIPELINE / name)
    assert (ours.name, ours.endpoint_name, ours.description) == (
        theirs.name,
        theirs.endpoint_name,
        theirs.description,
    )
    assert ours.tags == (theirs.tags or {})
    assert ours.settings.model_dump(exclude_none=True) == theirs.settings
    if ours.job_definition is not None:
        assert ours.job_definition.removeprefix("azureml:") == theirs.job_definition
    elif isinstance(ours.component, str):
        assert ours.component.removeprefix("azureml:") == theirs.component
    else:
        assert ours.local_component is not None
        assert ours.local_component.display_name == theirs.component.display_name
        assert set(ours.local_component.jobs) == set(theirs.component.jobs)
        for step, node in theirs.component.jobs.items():
            local = ours.local_component.jobs[step].local
            assert local is not None
            assert local.command == node.component.command
            assert set(local.inputs) == set(node.component.inputs)


def test_microsoft_s_hello_batch_sample_loads_as_it_is(examples: Path) -> None:
    spec = _load(examples / HELLO)
    theirs = _azure_ai_ml(examples / HELLO)
    assert spec.component == "azureml:hello_batch@latest"
    assert theirs.component == "hello_batch@latest"
    assert spec.settings.rest() == theirs.settings == {"default_compute": "batch-cluster"}
    assert (spec.name, spec.endpoint_name) == (theirs.name, theirs.endpoint_name)


def test_the_schema_and_type_decide_the_kind() -> None:
    """`type: pipeline` under the model schema, or in a stack's inline deployment list,
    is a pipeline-component deployment too."""
    endpoint = BatchEndpointSpec.model_validate(
        {
            "name": "pipeline-batch",
            "defaults": {"deployment_name": "registered"},
            "deployments": [
                {
                    "name": "registered",
                    "type": "Pipeline",
                    "component": "azureml:prepare_score:2",
                    "settings": {"default_compute": "serverless"},
                },
                {
                    "name": "model",
                    "model": "azureml:clf:1",
                    "compute": "azureml:batch-cluster",
                },
            ],
        }
    )
    kinds = [type(d).__name__ for d in endpoint.deployments]
    assert kinds == ["PipelineBatchDeploymentSpec", "BatchDeploymentSpec"]
    assert endpoint.asset_uses()["pipeline-batch/registered"].pipeline is endpoint.deployments[0]


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(PIPELINE, tmp_path / "pipeline")
    return tmp_path / "pipeline"


def _edit(folder: Path, file: str, change: dict[str, Any], drop: tuple[str, ...] = ()) -> None:
    doc = yaml.safe_load((folder / file).read_text())
    doc.update(change)
    for key in drop:
        doc.pop(key)
    (folder / file).write_text(yaml.safe_dump(doc, sort_keys=False))


def _line(file: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_cli_yaml(file)
    (line,) = str(caught.value).splitlines()
    return line


# (file edited, change, keys dropped, words of the one line)
BAD: list[tuple[str, dict[str, Any], tuple[str, ...], list[str]]] = [
    (
        "deployment.yml",
        {},
        ("settings",),
        ["deployment.yml", "settings.default_compute is required"],
    ),
    (
        "deployment.yml",
        {"settings": {"default_compute": "batch-cluster", "continue_on_failure": True}},
        (),
        ["deployment.yml: settings.continue_on_failure", "is not a known field"],
    ),
    (
        "deployment.yml",
        {"settings": {"default_compute": "batch-cluster", "force_rerun": "yes"}},
        (),
        ["settings.force_rerun", "must be true or false"],
    ),
    (
        "deployment.yml",
        {"job_definition": "azureml:some_job"},
        (),
        ["deployment.yml", "give exactly one of `component`", "and `job_definition`"],
    ),
    (
        "deployment-from-job.yml",
        {"job_definition": {"name": "quirky_lamp_7r2p1b9s", "type": "pipeline", "jobs": {}}},
        (),
        ["deployment-from-job.yml: job_definition", "(here: azureml:quirky_lamp_7r2p1b9s)"],
    ),
    (
        "deployment.yml",
        {"component": "missing.yml"},
        (),
        ["deployment.yml: component", "component file 'missing.yml' does not exist"],
    ),
    (
        "pipeline.yml",
        {"jobs": {"prepare": {"type": "parallel", "component": "components/prepare.yml"}}},
        (),
        ["pipeline.yml: jobs.prepare", "command` steps only"],
    ),
    (
        "pipeline.yml",
        {
            "jobs": {
                "prepare": {
                    "type": "command",
                    "component": "components/prepare.yml",
                    "inputs": {"data": "${{parent.inputs.input_dta}}"},
                }
            }
        },
        (),
        ["pipeline.yml: jobs", "jobs.prepare.inputs.data", "no input 'input_dta'"],
    ),
    (
        "components/score.yml",
        {"command": "python score_rows.py --data ${{inputs.dataset}}"},
        (),
        ["components/score.yml: command", "${{inputs.dataset}} names no input or output"],
    ),
    (
        "components/prepare.yml",
        {"code": "../src/nowhere"},
        (),
        ["components/prepare.yml: code", "does not exist"],
    ),
]


@pytest.mark.parametrize(("file", "change", "drop", "words"), BAD, ids=lambda v: str(v)[:40])
def test_bad_files_are_refused_in_one_line_naming_file_and_field(
    tmp_path: Path, file: str, change: dict[str, Any], drop: tuple[str, ...], words: list[str]
) -> None:
    folder = _copy(tmp_path)
    _edit(folder, file, change, drop)
    deployment = file if file.startswith("deployment") else "deployment.yml"
    line = _line(folder / deployment)
    for word in words:
        assert word in line, line


def test_a_step_cycle_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    doc = yaml.safe_load((folder / "pipeline.yml").read_text())
    doc["jobs"]["prepare"]["inputs"]["data"] = "${{parent.jobs.score.outputs.scores}}"
    doc["outputs"] = {}
    doc["jobs"]["score"]["outputs"] = {}
    (folder / "pipeline.yml").write_text(yaml.safe_dump(doc))
    assert "read each other's outputs in a cycle" in _line(folder / "deployment.yml")


def _stack(deployment: dict[str, Any]) -> dict[str, Any]:
    return {
        "environment": {"name": "dev", "location": "westeurope"},
        "compute": [{"name": "batch-cluster", "size": "Standard_DS3_v2"}],
        "batch_endpoints": [{"name": "pipeline-batch", "deployments": [deployment]}],
    }


def test_default_compute_names_a_cluster_of_the_stack() -> None:
    deployment = {
        "name": "registered",
        "type": "pipeline",
        "component": "azureml:prepare_score:2",
        "settings": {"default_compute": "azureml:gpu-cluster"},
    }
    with pytest.raises(ConfigError) as caught:
        build_stack_spec(_stack(deployment), source=ROOT / "stacks" / "Pulumi.test.yaml")
    assert "settings.default_compute 'azureml:gpu-cluster' is not a cluster of this stack" in str(
        caught.value
    )
    for fine in ("batch-cluster", "azureml:batch-cluster", "serverless"):
        deployment["settings"] = {"default_compute": fine}
        spec = build_stack_spec(_stack(deployment), source=ROOT / "stacks" / "Pulumi.test.yaml")
        assert spec.batch_endpoints[0].deployments[0].name == "registered"
