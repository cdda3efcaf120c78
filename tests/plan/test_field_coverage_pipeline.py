"""Every field of a pipeline-component batch deployment amlkit accepts reaches Azure,
or is refused with a reason, or neither amlkit nor az ml sends it.

The deployment is walked down to its component file and its steps' command components
(written inline for the walk) and their environments, each field held to a case of
tests/plan/field_walk.py: a field of the deployment is held to azure-ai-ml's
BatchDeployment body (settings sent as strings the one difference), one of a component
to every ComponentVersion body azure-ai-ml's `PipelineComponent` / `CommandComponent`
`_to_rest_object()` builds, apart from ids and versions, and a step's inline environment
to its `Environment`'s. An `Unsent` field (a component's `name`/`version`: both register
it anonymously) changes none of amlkit's requests, nor azure-ai-ml's conversion of the
components.

That every field has a case: tests/plan/test_field_coverage.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from amlkit.plan import azure_body, azure_models
from amlkit.plan.azure_check import check_body
from tests.cli_v2 import FIXTURES
from tests.fidelity import ML, WORKSPACE_ID
from tests.plan.field_walk import (
    ENV,
    INFERENCE,
    PLACE_SCHEMA,
    SCHEMA,
    Base,
    Case,
    Elsewhere,
    Place,
    Refused,
    Sent,
    Unsent,
    asset_differences,
    case_params,
    check_case,
    encoded,
    merge,
    render,
    routes,
    their_entity,
)

PIPELINE = "pipeline_deployment"
PIPELINE_DOC: dict[str, Any] = yaml.safe_load((FIXTURES / "pipeline/pipeline.yml").read_text())
PIPELINE_DOC["jobs"]["prepare"]["component"] = "azureml:prepare_rows:1"
"""The pipeline component the pipeline deployment's base runs: the fixture's, its
prepare step naming a registered component (nothing of that step to register: each
registration costs a case time, and the score step's component is the one walked).
The base file's `component:` (written beside it by `write_file`), so a case's file
differs from the base's by its field alone."""
BASES: dict[str, Base] = {
    PIPELINE: (
        "pipeline",
        {
            "$schema": SCHEMA.format("pipelineComponentBatchDeployment"),
            "name": "prepare-score",
            "endpoint_name": "pipeline-batch",
            "type": "pipeline",
            "component": PIPELINE_DOC,
            "settings": {"default_compute": "batch-cluster"},
        },
    ),
}
SCORE_STEP: dict[str, Any] = {
    **yaml.safe_load((FIXTURES / "pipeline/components/score.yml").read_text()),
    "code": "azureml:score-code:1",
    "environment": "azureml:scoring-env:1",
}
"""The score step's command component, written inline, its code and environment
registered (nothing to upload or register a case): `component.jobs.component.code`
sets the local folder (relative to pipeline.yml), the `environment.*` cases an inline
environment."""
ANONYMOUS = (
    "az ml registers a deployment's component and its steps' components anonymously "
    "(`azureml_anonymous`, versioned by a hash of their content), as amlkit does, so "
    "neither sends it (test_each_step_and_the_pipeline_are_registered_as_anonymous_components)"
)


def _component(**changes: Any) -> dict[str, Any]:
    """The deployment's `component:` as a pipeline component file with `changes` on top
    (written beside the deployment by `write_file`)."""
    return {"component": merge(PIPELINE_DOC, changes)}


def _step(step: dict[str, Any] | None = None, /, **changes: Any) -> dict[str, Any]:
    """The pipeline with its score step's command component inline, `changes` on top
    of it, and `step` on top of the step."""
    score = {**PIPELINE_DOC["jobs"]["score"], "component": merge(SCORE_STEP, changes)}
    return _component(jobs={"score": merge(score, step or {})})


def _step_env(**environment: Any) -> dict[str, Any]:
    return _step(environment={"image": ENV["image"], **environment})


def _step_route(route: str, key: str, value: Any) -> dict[str, Any]:
    return _step_env(inference_config=routes(route, key, value))


def _pipeline_cases() -> dict[str, Case]:
    """A pipeline-component batch deployment: its own fields reach the BatchDeployment
    body; its component's reach the registered ComponentVersion bodies (and a step's
    inline environment its EnvironmentVersion), each held to azure-ai-ml's conversion."""
    data = {"path": "azureml:raw:1"}
    cases: dict[str, Case] = {
        "$schema": PLACE_SCHEMA,
        "type": Place("`pipeline` decides the kind (tests/specs/test_file_kind.py)"),
        "name": Sent({"name": "renamed"}),
        "endpoint_name": Sent({"endpoint_name": "renamed-endpoint"}),
        "description": Sent({"description": "prepares and scores"}),
        "tags": Sent({"tags": {"team": "ml"}}),
        "job_definition": Sent(
            {"job_definition": "azureml:quirky_lamp_7r2p1b9s", "component": None}
        ),
        "settings.default_compute": Sent({"settings": {"default_compute": "other-cluster"}}),
        "settings.default_datastore": Sent(
            {"settings": {"default_compute": "batch-cluster", "default_datastore": "outputs"}}
        ),
        "settings.continue_on_step_failure": Sent(
            {"settings": {"default_compute": "batch-cluster", "continue_on_step_failure": True}}
        ),
        "settings.force_rerun": Sent(
            {"settings": {"default_compute": "batch-cluster", "force_rerun": True}}
        ),
        # -- the pipeline component (its ComponentVersion) --------------------------------
        "component.$schema": Sent(
            _component(
                **{"$schema": SCHEMA.format("pipelineComponent").replace("latest", "development")}
            )
        ),
        "component.type": Refused(_component(type="command"), "pipeline"),
        "component.name": Unsent(_component(name="other_name"), ANONYMOUS),
        "component.version": Unsent(_component(version="7"), ANONYMOUS),
        "component.display_name": Sent(_component(display_name="Prepare, then score")),
        "component.description": Sent(_component(description="two steps")),
        "component.tags": Sent(_component(tags={"stage": "batch", "team": "ml"})),
        "component.inputs.type": Sent(_component(inputs={"input_data": {"type": "uri_file"}})),
        "component.inputs.default": Sent(
            _component(inputs={"threshold": {"type": "number", "default": 0.7}})
        ),
        "component.inputs.optional": Sent(
            _component(inputs={"input_data": {"type": "uri_folder", "optional": True}})
        ),
        "component.inputs.description": Sent(
            _component(inputs={"input_data": {"type": "uri_folder", "description": "CSV files"}})
        ),
        "component.inputs.mode": Sent(
            _component(inputs={"input_data": {"type": "uri_folder", "mode": "download"}})
        ),
        "component.outputs.type": Sent(
            _component(outputs={"scores": {"type": "uri_file", "mode": "upload"}})
        ),
        "component.outputs.mode": Sent(
            _component(outputs={"scores": {"type": "uri_folder", "mode": "rw_mount"}})
        ),
        "component.outputs.description": Sent(
            _component(outputs={"scores": {"type": "uri_folder", "description": "one per row"}})
        ),
        # -- its steps ---------------------------------------------------------------------
        "component.jobs.type": Refused(_step({"type": "parallel"}), "`command` steps only"),
        "component.jobs.display_name": Sent(_step({"display_name": "Scoring"}), before=_step()),
        "component.jobs.compute": Sent(_step({"compute": "azureml:gpu-cluster"}), before=_step()),
        "component.jobs.inputs.path": Sent(
            _component(jobs={"prepare": {"inputs": {"data": data}}})
        ),
        "component.jobs.inputs.type": Sent(
            _component(jobs={"prepare": {"inputs": {"data": {**data, "type": "uri_file"}}}}),
            before=_component(jobs={"prepare": {"inputs": {"data": data}}}),
        ),
        "component.jobs.inputs.mode": Sent(
            _component(jobs={"prepare": {"inputs": {"data": {**data, "mode": "download"}}}}),
            before=_component(jobs={"prepare": {"inputs": {"data": data}}}),
        ),
        "component.jobs.outputs.mode": Sent(
            _component(jobs={"prepare": {"outputs": {"prepared": {"mode": "upload"}}}})
        ),
        "component.jobs.outputs.type": Sent(
            _component(jobs={"prepare": {"outputs": {"prepared": {"type": "uri_file"}}}})
        ),
        "component.jobs.outputs.path": Sent(
            _component(
                jobs={
                    "prepare": {
                        "outputs": {
                            "prepared": {"path": "azureml://datastores/workspaceblobstore/paths/p"}
                        }
                    }
                }
            )
        ),
        # -- a step's command component (its ComponentVersion, code and environment) -------
        "component.jobs.component.$schema": Sent(
            _step(
                **{"$schema": SCHEMA.format("commandComponent").replace("latest", "development")}
            ),
            before=_step(),
        ),
        "component.jobs.component.type": Refused(_step(type="parallel"), "command"),
        "component.jobs.component.name": Unsent(
            _step(name="other_name"), ANONYMOUS, before=_step()
        ),
        "component.jobs.component.version": Unsent(_step(version="7"), ANONYMOUS, before=_step()),
        "component.jobs.component.display_name": Sent(
            _step(display_name="Scoring"), before=_step()
        ),
        "component.jobs.component.description": Sent(_step(description="scores"), before=_step()),
        "component.jobs.component.tags": Sent(_step(tags={"team": "ml"}), before=_step()),
        "component.jobs.component.is_deterministic": Sent(
            _step(is_deterministic=False), before=_step()
        ),
        "component.jobs.component.code": Sent(_step(code="src/score"), before=_step()),
        "component.jobs.component.command": Sent(
            _step(command=SCORE_STEP["command"] + " --verbose"), before=_step()
        ),
        "component.jobs.component.inputs.type": Sent(
            _step(inputs={"threshold": {"type": "integer", "default": 1}}),
            before=_step(inputs={"threshold": {"type": "number", "default": 1}}),
        ),
        "component.jobs.component.inputs.default": Sent(
            _step(inputs={"threshold": {"type": "number", "default": 0.7}}), before=_step()
        ),
        "component.jobs.component.inputs.optional": Sent(
            _step(inputs={"threshold": {"type": "number", "default": 0.5, "optional": True}}),
            before=_step(),
        ),
        "component.jobs.component.inputs.description": Sent(
            _step(inputs={"threshold": {"type": "number", "default": 0.5, "description": "cut"}}),
            before=_step(),
        ),
        "component.jobs.component.inputs.mode": Sent(
            _step(inputs={"data": {"type": "uri_folder", "mode": "download"}}), before=_step()
        ),
        "component.jobs.component.outputs.type": Sent(
            _step(outputs={"scores": {"type": "uri_file"}}), before=_step()
        ),
        "component.jobs.component.outputs.mode": Sent(
            _step(outputs={"scores": {"type": "uri_folder", "mode": "upload"}}), before=_step()
        ),
        "component.jobs.component.outputs.description": Sent(
            _step(outputs={"scores": {"type": "uri_folder", "description": "rows"}}),
            before=_step(),
        ),
        "component.jobs.component.environment.image": Sent(
            _step(
                environment={
                    "image": "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference:latest"
                }
            ),
            before=_step_env(),
        ),
        "component.jobs.component.environment.conda_file": Sent(
            _step_env(conda_file="../environment/conda.yml"), before=_step_env()
        ),
        "component.jobs.component.environment.name": Sent(
            _step_env(name="scoring"), before=_step_env()
        ),
        "component.jobs.component.environment.version": Sent(
            _step_env(version="4"), before=_step_env()
        ),
        "component.jobs.component.environment.description": Sent(
            _step_env(description="scoring"), before=_step_env()
        ),
        "component.jobs.component.environment.os_type": Sent(
            _step_env(os_type="windows"), before=_step_env()
        ),
    }
    for route in ("liveness_route", "readiness_route", "scoring_route"):
        for key, value in (("port", 8080), ("path", "/x")):
            cases[f"component.jobs.component.environment.inference_config.{route}.{key}"] = Sent(
                _step_route(route, key, value), before=_step_env(inference_config=INFERENCE)
            )
    return cases


CASES: dict[str, dict[str, Case]] = {PIPELINE: _pipeline_cases()}


@pytest.mark.parametrize(("kind", "path"), case_params(CASES))
def test_the_field_reaches_azure_or_is_refused(corpus: Path, kind: str, path: str) -> None:
    case = CASES[kind][path]
    assert isinstance(case, Sent | Elsewhere | Refused | Unsent)
    reached = check_case(corpus, BASES, kind, path, case, same=_pipeline_same)
    if reached is None:
        return
    plain, file, types = reached
    if isinstance(case, Unsent):
        assert _azure_ai_ml_components(plain) == _azure_ai_ml_components(file), case.reason
    elif types & {"ComponentVersion", "CodeVersion", "EnvironmentVersion"}:
        _components_as_azure_ai_ml(file)


# -- a pipeline deployment's components ----------------------------------------------------

_COMPONENT_IDS = {"version", "componentId", "code", "environment"}
"""Ids and versions in a component spec: amlkit's are registered assets' ARM ids and
content-hash versions, azure-ai-ml's conversion holds the local assets its operations
register before the PUT (tests/components/test_pipeline_deployment.py)."""


def _without_ids(value: Any) -> Any:
    """Ids and versions left out; so are nulls (azure-ai-ml's `"sourceJobId": null`):
    the engine drops null values from a dict input."""
    if isinstance(value, dict):
        return {
            k: _without_ids(v)
            for k, v in value.items()
            if k not in _COMPONENT_IDS and v is not None
        }
    return value


def _azure_ai_ml_components(file: Path) -> dict[str, Any]:
    """azure-ai-ml's ComponentVersion bodies of the file's pipeline and its steps, by
    step (`""` the pipeline), and each step's inline environment's body."""
    from azure.ai.ml.entities import PipelineComponent

    entity = their_entity(file)
    if isinstance(entity.job_definition, str):
        # As its batch deployment operations derive the component from the job
        # (BatchDeploymentOperations._validate_component), the job as written.
        derived = PipelineComponent(source_job_id=entity.job_definition)
        return {"": derived._to_rest_object().as_dict()["properties"]}
    pipeline = entity.component
    if pipeline is None or isinstance(pipeline, str):
        return {}
    found = {"": pipeline._to_rest_object().as_dict()["properties"]}
    for step, job in pipeline.jobs.items():
        if not isinstance(job.component, str):
            found[step] = job.component._to_rest_object().as_dict()["properties"]
            environment = job.component.environment
            if environment is not None and not isinstance(environment, str):
                found[f"{step}.environment"] = encoded(environment._to_rest_object())
    return found


def _amlkit_components(file: Path) -> dict[str, Any]:
    """amlkit's registered ComponentVersion bodies, keyed as `_azure_ai_ml_components`."""
    recording = render(file)
    by_id = {str(r.outputs["id"]): r.inputs for r in recording.of_type(f"{ML}:ComponentVersion")}
    environments = {str(r.outputs["id"]): r for r in recording.of_type(f"{ML}:EnvironmentVersion")}
    (pipeline,) = (
        inputs
        for inputs in by_id.values()
        if inputs["properties"]["componentSpec"]["type"] == "pipeline"
    )
    found = {"": pipeline["properties"]}
    for step, job in pipeline["properties"]["componentSpec"]["jobs"].items():
        if job["componentId"] in by_id:
            found[step] = by_id[job["componentId"]]["properties"]
            environment = str(found[step]["componentSpec"]["environment"]).removeprefix("azureml:")
            if environment in environments:
                model = azure_models.model_for(f"{ML}:EnvironmentVersion")
                assert model is not None
                found[f"{step}.environment"] = azure_body.request_body(
                    f"{ML}:EnvironmentVersion", environments[environment].inputs, model
                )
    return found


def _components_as_azure_ai_ml(file: Path) -> None:
    """Each registered component (the pipeline's and its steps') is azure-ai-ml's
    conversion apart from ids and versions; a step's inline environment is its
    `Environment`'s, apart from what `asset_differences` explains."""
    ours, theirs = _amlkit_components(file), _azure_ai_ml_components(file)
    assert set(ours) == set(theirs)
    model = azure_models.model_for(f"{ML}:EnvironmentVersion")
    assert model is not None
    for key, body in ours.items():
        if key.endswith(".environment"):
            unexplained = asset_differences(
                check_body(body, model)[0], check_body(theirs[key], model)[0]
            )
            assert unexplained == {}, f"{key}: {unexplained}"
            continue
        assert _without_ids(body["componentSpec"]) == _without_ids(theirs[key]["componentSpec"]), (
            key or "pipeline"
        )
        version = {k: v for k, v in body.items() if k != "componentSpec"}
        expected = {k: v for k, v in theirs[key].items() if k != "componentSpec"}
        assert version == {k: v for k, v in expected.items() if v is not None}, key or "pipeline"


def _pipeline_same(path: str, ours: Any, theirs: Any) -> bool:
    """A pipeline deployment's body differences from azure-ai-ml's, as
    tests/components/test_pipeline_deployment.py documents them: the component's id
    (az ml's operations register or resolve it before the PUT), and settings sent as
    the strings Azure's model types them (azure-ai-ml sends the file's booleans)."""
    config = "properties.deploymentConfiguration."
    if path == config + "componentId.assetId":
        return isinstance(ours, str) and ours.startswith(f"{WORKSPACE_ID}/components/")
    if path.startswith(config + "settings."):
        return isinstance(theirs, bool) and ours == str(theirs).lower()
    return False
