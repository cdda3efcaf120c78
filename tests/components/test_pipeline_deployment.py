"""Pipeline-component batch deployments: the component registered as `az ml` registers
it (each step's code uploaded and registered, its environment registered, each command
component and the pipeline component as anonymous component versions), and the
deployment body azure-ai-ml's `PipelineComponentBatchDeployment._to_rest_object`
builds, apart from asset ids."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from amlkit.components.asset_catalog import AssetCatalog, AssetCatalogArgs
from amlkit.components.batch_deployment import BatchDeployment, BatchDeploymentArgs
from amlkit.components.workspace_ref import WorkspaceRef
from amlkit.plan import azure_body, azure_models
from amlkit.plan.azure_check import check_body
from amlkit.plan.mock_engine import Recording
from amlkit.specs import PipelineBatchDeploymentSpec, StackEnvironment, load_cli_yaml
from amlkit.specs.asset_uses import content_hash as folder_hash
from amlkit.specs.asset_uses import pipeline_use, use_key
from tests.cli_v2 import FIXTURES, schema_kind
from tests.components.conftest import WORKSPACE_ID as WS_ID
from tests.conftest import example_files

ML = "azure-native:machinelearningservices"
PIPELINE = FIXTURES / "pipeline"
CLUSTER_ID = f"{WS_ID}/computes/batch-cluster"
BATCH_ENV = f"{WS_ID}/environments/amlkit-batch/versions/def"
LOCATION = "westeurope"
PIPELINE_SAMPLES = example_files(lambda p: schema_kind(p) == "pipelineComponentBatchDeployment")


def render_file(
    render: Any, environment: StackEnvironment, workspace: WorkspaceRef, file: Path
) -> tuple[Recording, PipelineBatchDeploymentSpec]:
    spec = load_cli_yaml(file)
    assert isinstance(spec, PipelineBatchDeploymentSpec)
    endpoint = spec.endpoint_name or "pipeline-batch"

    def program() -> None:
        assets = AssetCatalog(
            "assets",
            AssetCatalogArgs(
                workspace=workspace,
                uses=dict([pipeline_use(endpoint, spec)]),
                default_environment_id=BATCH_ENV,
                batch_environment_id=BATCH_ENV,
            ),
        )
        BatchDeployment(
            f"batch-{spec.name}",
            BatchDeploymentArgs(
                spec=spec,
                endpoint_name=endpoint,
                environment=environment,
                workspace=workspace,
                compute_ids={"batch-cluster": CLUSTER_ID},
                assets=assets.ids[use_key(endpoint, spec.name)],
            ),
        )

    recording: Recording = render(program)
    return recording, spec


@pytest.fixture
def local(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> tuple[Recording, PipelineBatchDeploymentSpec]:
    return render_file(render, environment, workspace_ref, PIPELINE / "deployment.yml")


def _body(recording: Recording) -> dict[str, Any]:
    typ = f"{ML}:BatchDeployment"
    model = azure_models.model_for(typ)
    assert model is not None
    return azure_body.request_body(typ, recording.one(typ).inputs, model)


def _components(recording: Recording) -> dict[str, dict[str, Any]]:
    """Registered component versions by their spec's display name."""
    return {
        r.inputs["properties"]["componentSpec"].get("display_name", r.name): r.inputs
        for r in recording.of_type(f"{ML}:ComponentVersion")
    }


def test_each_step_and_the_pipeline_are_registered_as_anonymous_components(
    local: tuple[Recording, PipelineBatchDeploymentSpec],
) -> None:
    recording, _ = local
    components = _components(recording)
    assert set(components) == {"Prepare rows", "Score rows", "Prepare and score"}
    for inputs in components.values():
        assert inputs["name"] == "azureml_anonymous"
        assert inputs["properties"]["isAnonymous"] is True
        assert inputs["properties"]["componentSpec"]["version"] == inputs["version"]
    pipeline = components["Prepare and score"]["properties"]
    assert pipeline["description"] == "Drops blank rows, then scores each row of every CSV file."
    jobs = pipeline["componentSpec"]["jobs"]
    # Each step names its registered command component by ARM id.
    for step, display in (("prepare", "Prepare rows"), ("score", "Score rows")):
        version = components[display]["version"]
        assert (
            jobs[step]["componentId"] == f"{WS_ID}/components/azureml_anonymous/versions/{version}"
        )
    assert jobs["score"]["inputs"]["data"] == {
        "value": "${{parent.jobs.prepare.outputs.prepared}}",
        "job_input_type": "literal",
    }
    assert jobs["score"]["outputs"]["scores"] == {
        "value": "${{parent.outputs.scores}}",
        "type": "literal",
    }


def test_step_code_is_uploaded_and_registered_and_the_environment_once(
    local: tuple[Recording, PipelineBatchDeploymentSpec],
) -> None:
    recording, spec = local
    codes = {r.inputs["version"]: r for r in recording.of_type(f"{ML}:CodeVersion")}
    prepare = folder_hash(PIPELINE / "src" / "prepare")[:12]
    score = folder_hash(PIPELINE / "src" / "score")[:12]
    assert set(codes) == {prepare, score}
    assert {r.inputs["name"] for r in codes.values()} == {f"{spec.name}-code"}
    blobs = {r.inputs["blobName"] for r in recording.of_type("azure-native:storage:Blob")}
    assert any(b.endswith("/prepare/prepare_rows.py") for b in blobs)
    assert any(b.endswith("/score/score_rows.py") for b in blobs)
    # Both steps name one image: one environment version.
    (environment,) = recording.of_type(f"{ML}:EnvironmentVersion")
    assert environment.inputs["properties"]["image"] == (
        "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
    )
    command = _components(recording)["Score rows"]["properties"]["componentSpec"]
    assert command["code"] == f"azureml:{WS_ID}/codes/{spec.name}-code/versions/{score}"
    assert command["environment"] == f"azureml:{environment.outputs['id']}"
    assert command["command"].startswith("python score_rows.py --data ${{inputs.data}}")


def test_the_deployment_runs_the_registered_pipeline_with_its_settings(
    local: tuple[Recording, PipelineBatchDeploymentSpec],
) -> None:
    recording, _ = local
    body = _body(recording)
    components = _components(recording)
    version = components["Prepare and score"]["version"]
    config = body["properties"]["deploymentConfiguration"]
    assert config == {
        "deploymentConfigurationType": "PipelineComponent",
        "componentId": {
            "referenceType": "Id",
            "assetId": f"{WS_ID}/components/azureml_anonymous/versions/{version}",
        },
        # Azure's model types settings as strings.
        "settings": {
            "default_compute": "batch-cluster",
            "default_datastore": "workspaceblobstore",
            "continue_on_step_failure": "false",
            "force_rerun": "true",
        },
        "tags": {"stage": "batch"},
        "description": "Drops blank rows, then scores each row of every CSV file.",
    }
    assert "compute" not in body["properties"]
    assert body["properties"]["description"] == "Prepares CSV files and scores them, one step each."
    assert body["tags"]["team"] == "scoring"
    _, problems = check_body(body, azure_models.model_for(f"{ML}:BatchDeployment"))  # type: ignore[arg-type]
    assert problems == []


def test_a_registered_component_is_resolved_and_nothing_is_registered(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    recording, _ = render_file(
        render, environment, workspace_ref, PIPELINE / "deployment-registered.yml"
    )
    assert recording.of_type(f"{ML}:ComponentVersion") == []
    assert recording.of_type(f"{ML}:CodeVersion") == []
    config = _body(recording)["properties"]["deploymentConfiguration"]
    assert config["componentId"]["assetId"] == f"{WS_ID}/components/prepare_score/versions/2"
    assert config["settings"] == {"default_compute": "batch-cluster"}
    assert "tags" not in config and "description" not in config


def test_a_deployment_from_a_job_registers_the_component_az_ml_derives(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    recording, _ = render_file(
        render, environment, workspace_ref, PIPELINE / "deployment-from-job.yml"
    )
    (component,) = recording.of_type(f"{ML}:ComponentVersion")
    spec = component.inputs["properties"]["componentSpec"]
    assert spec["sourceJobId"] == spec["source_job_id"] == "quirky_lamp_7r2p1b9s"
    assert spec["jobs"] == {} and spec["type"] == "pipeline"
    config = _body(recording)["properties"]["deploymentConfiguration"]
    assert config["componentId"]["assetId"] == component.outputs["id"]
    assert config["settings"]["continue_on_step_failure"] == "true"


# -- agreement with azure-ai-ml -----------------------------------------------------------


def _azure_ai_ml(file: Path) -> Any:
    from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

    return load_pipeline_component_batch_deployment(file)


def _json(rest: Any) -> dict[str, Any]:
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import SdkJSONEncoder

    body: dict[str, Any] = json.loads(json.dumps(rest, cls=SdkJSONEncoder, exclude_readonly=True))
    return body


def _as_sent(settings: dict[str, Any]) -> dict[str, str]:
    """azure-ai-ml sends the file's booleans as JSON booleans although its model (and
    Azure's API) types settings `dict[str, str]`; amlkit sends the strings."""
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in settings.items()}


def _assert_body_is_azure_ai_ml_s(ours: dict[str, Any], file: Path) -> None:
    theirs = _json(_azure_ai_ml(file)._to_rest_object(location=LOCATION))
    ours_config = ours["properties"].pop("deploymentConfiguration")
    theirs_config = theirs["properties"].pop("deploymentConfiguration")
    # The component's id: az ml's operations register or resolve it before the PUT;
    # its REST conversion leaves a reference as written (without `azureml:`).
    assert ours_config.pop("componentId")["assetId"].startswith(f"{WS_ID}/components/")
    reference = yaml.safe_load(file.read_text()).get("component")
    assert theirs_config.pop("componentId").get("assetId") in (
        None,
        str(reference).removeprefix("azureml:"),
    )
    theirs_config["settings"] = _as_sent(theirs_config["settings"])
    assert ours_config == theirs_config
    # amlkit adds the stack's tags (environment, managed-by) to every resource.
    assert {k: v for k, v in ours.pop("tags").items() if k in theirs["tags"]} == theirs.pop("tags")
    assert ours == theirs


@pytest.mark.parametrize(
    "name", ["deployment.yml", "deployment-registered.yml", "deployment-from-job.yml"]
)
def test_the_body_is_azure_ai_ml_s_apart_from_asset_ids(
    name: str, render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    recording, _ = render_file(render, environment, workspace_ref, PIPELINE / name)
    _assert_body_is_azure_ai_ml_s(_body(recording), PIPELINE / name)


@pytest.mark.parametrize("relative", PIPELINE_SAMPLES)
def test_microsoft_s_pipeline_samples_send_azure_ai_ml_s_body_apart_from_asset_ids(
    relative: str,
    examples: Path,
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
) -> None:
    """The pipeline-component samples of ../shared/aml-examples, held to the same
    comparison (tests/plan/test_azure_fidelity.py compares the other kinds)."""
    recording, _ = render_file(render, environment, workspace_ref, examples / relative)
    body = _body(recording)
    assert body["properties"]["deploymentConfiguration"]["settings"]["default_compute"] == (
        "batch-cluster"
    )
    _, problems = check_body(body, azure_models.model_for(f"{ML}:BatchDeployment"))  # type: ignore[arg-type]
    assert problems == []
    _assert_body_is_azure_ai_ml_s(body, examples / relative)


def test_component_specs_are_azure_ai_ml_s_apart_from_ids_and_versions(
    local: tuple[Recording, PipelineBatchDeploymentSpec],
) -> None:
    recording, _ = local
    entity = _azure_ai_ml(PIPELINE / "deployment.yml").component
    ids = {"version", "componentId", "code", "environment"}

    def without_ids(value: Any) -> Any:
        """Ids and versions left out; so are nulls (azure-ai-ml's `"sourceJobId": null`):
        the engine drops null values from a dict input."""
        if isinstance(value, dict):
            return {k: without_ids(v) for k, v in value.items() if k not in ids and v is not None}
        return value

    ours = {
        display: inputs["properties"]["componentSpec"]
        for display, inputs in _components(recording).items()
    }
    # as_dict: a step's unregistered component is written out as YAML, an id in ours.
    theirs = {entity.display_name: entity._to_rest_object().as_dict()["properties"]}
    for step in entity.jobs.values():
        theirs[step.component.display_name] = step.component._to_rest_object().as_dict()[
            "properties"
        ]
    assert set(ours) == set(theirs)
    for display, spec in ours.items():
        assert without_ids(spec) == without_ids(theirs[display]["componentSpec"]), display
    # The version's own fields (description, tags, isAnonymous, properties) too.
    for display, inputs in _components(recording).items():
        version = {k: v for k, v in inputs["properties"].items() if k != "componentSpec"}
        expected = {k: v for k, v in theirs[display].items() if k != "componentSpec"}
        assert version == {k: v for k, v in expected.items() if v is not None}, display


def test_step_data_compute_and_literals_are_written_as_azure_ai_ml_writes_them(
    tmp_path: Path, render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    folder = tmp_path / "pipeline"
    shutil.copytree(PIPELINE, folder)
    doc = yaml.safe_load((folder / "pipeline.yml").read_text())
    prepare, score = doc["jobs"]["prepare"], doc["jobs"]["score"]
    prepare["inputs"]["data"] = {"type": "uri_folder", "path": "azureml:raw:1", "mode": "download"}
    prepare["outputs"]["prepared"] = {"type": "uri_folder", "mode": "upload"}
    score.update(compute="azureml:gpu-cluster", display_name="Scoring")
    score["inputs"]["threshold"] = 0.7
    (folder / "pipeline.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    recording, _ = render_file(render, environment, workspace_ref, folder / "deployment.yml")
    ours = _components(recording)["Prepare and score"]["properties"]["componentSpec"]["jobs"]
    entity = _azure_ai_ml(folder / "deployment.yml").component
    theirs = entity._to_rest_object().as_dict()["properties"]["componentSpec"]["jobs"]
    for step in ("prepare", "score"):
        ours[step].pop("componentId"), theirs[step].pop("componentId")
    assert ours == theirs
    assert ours["prepare"]["inputs"]["data"] == {
        "uri": "raw:1",
        "mode": "Download",
        "job_input_type": "uri_folder",
    }
    assert ours["score"]["computeId"] == "gpu-cluster"


def _inline_score(folder: Path, **changes: Any) -> Path:
    """The fixture copied to `folder` with its score step's command component written
    inline in pipeline.yml (`changes` on top of it); returns the deployment file."""
    shutil.copytree(PIPELINE, folder)
    doc = yaml.safe_load((folder / "pipeline.yml").read_text())
    score = yaml.safe_load((folder / "components" / "score.yml").read_text())
    doc["jobs"]["score"]["component"] = {**score, "code": "src/score", **changes}
    (folder / "pipeline.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder / "deployment.yml"


def test_an_inline_step_component_is_marked_as_azure_ai_ml_marks_it(
    tmp_path: Path, render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    """azure-ai-ml marks a command component written inline in the pipeline's file, and
    its step, `YAML.JOB` (one read from its own file `YAML.COMPONENT`)."""
    file = _inline_score(tmp_path / "pipeline")
    recording, _ = render_file(render, environment, workspace_ref, file)
    components = _components(recording)
    assert components["Score rows"]["properties"]["componentSpec"]["_source"] == "YAML.JOB"
    assert components["Prepare rows"]["properties"]["componentSpec"]["_source"] == (
        "YAML.COMPONENT"
    )
    jobs = components["Prepare and score"]["properties"]["componentSpec"]["jobs"]
    assert (jobs["score"]["_source"], jobs["prepare"]["_source"]) == ("YAML.JOB", "YAML.COMPONENT")
    entity = _azure_ai_ml(file).component
    theirs = entity._to_rest_object().as_dict()["properties"]["componentSpec"]["jobs"]
    assert theirs["score"]["_source"] == "YAML.JOB"
    assert entity.jobs["score"].component._to_rest_object().as_dict()["properties"][
        "componentSpec"
    ]["_source"] == ("YAML.JOB")


def test_step_environments_differing_beyond_the_image_are_two_registrations(
    tmp_path: Path, render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    """Both steps name one image; the score step's environment also has a description,
    an OS type and inference routes. Each step's component names an environment version
    holding its own fields (they were one registration, the second step's fields lost)."""
    routes = {
        name: {"port": 5001, "path": path}
        for name, path in (
            ("liveness_route", "/"),
            ("readiness_route", "/ready"),
            ("scoring_route", "/score"),
        )
    }
    image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
    file = _inline_score(
        tmp_path / "pipeline",
        environment={
            "image": image,
            "description": "scoring",
            "os_type": "windows",
            "inference_config": routes,
        },
    )
    recording, _ = render_file(render, environment, workspace_ref, file)
    environments = {
        r.outputs["id"]: r.inputs["properties"]
        for r in recording.of_type(f"{ML}:EnvironmentVersion")
    }
    assert len(environments) == 2
    components = _components(recording)
    score = environments[
        components["Score rows"]["properties"]["componentSpec"]["environment"].removeprefix(
            "azureml:"
        )
    ]
    prepare = environments[
        components["Prepare rows"]["properties"]["componentSpec"]["environment"].removeprefix(
            "azureml:"
        )
    ]
    assert (score["description"], score["osType"]) == ("scoring", "Windows")
    assert score["inferenceConfig"]["scoringRoute"] == {"port": 5001, "path": "/score"}
    assert prepare.get("description") is None and prepare["osType"] == "Linux"
    assert prepare.get("inferenceConfig") is None
