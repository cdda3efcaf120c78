"""The `componentSpec` of a component version, as azure-ai-ml serializes it.

`az ml batch-deployment create` registers a local pipeline component, and each
command component its steps name, as anonymous components (`azureml_anonymous`,
versioned by a hash of their content) after uploading each step's code and
registering its environment; the pipeline's steps then name their components by
ARM id. These builders give the same `componentSpec` as azure-ai-ml's
`Component._to_rest_object()` (checked in tests/components/test_pipeline_deployment.py),
with amlkit's ids and content hashes; `AssetCatalog` registers them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from amlkit.specs.pipeline_component import (
    CommandComponentSpec,
    ComponentInput,
    ComponentOutput,
    PipelineComponentSpec,
    StepData,
    StepValue,
)

ANONYMOUS = "azureml_anonymous"
"""The name az ml registers inline components under; the version tells them apart."""

SOURCE = "YAML.COMPONENT"
"""How azure-ai-ml marks a component loaded from a YAML file (`_source`)."""


def component_version(spec_without_ids: Mapping[str, Any], *digests: str) -> str:
    """The version of an anonymous component: a hash of its spec and of the content
    it names (code, environment, steps), so equal components share one registration."""
    text = json.dumps(spec_without_ids, sort_keys=True) + "\0" + "\0".join(digests)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _value(value: Any) -> Any:
    """azure-ai-ml sends input defaults as strings (`0.5` -> `"0.5"`, `true` -> `"True"`)."""
    return None if value is None else str(value)


def _inputs(inputs: Mapping[str, ComponentInput]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, given in inputs.items():
        entry: dict[str, Any] = {"type": given.type}
        if given.optional is not None:
            entry["optional"] = given.optional
        if given.default is not None:
            entry["default"] = _value(given.default)
        if given.description is not None:
            entry["description"] = given.description
        if given.mode is not None:
            entry["mode"] = given.mode
        out[name] = entry
    return out


def _outputs(outputs: Mapping[str, ComponentOutput]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, given in outputs.items():
        entry: dict[str, Any] = {"type": given.type}
        if given.mode is not None:
            entry["mode"] = given.mode
        if given.description is not None:
            entry["description"] = given.description
        out[name] = entry
    return out


def _header(spec: CommandComponentSpec | PipelineComponentSpec, version: str) -> dict[str, Any]:
    head: dict[str, Any] = {"name": ANONYMOUS}
    if spec.description is not None:
        head["description"] = spec.description
    if spec.tags:
        head["tags"] = dict(spec.tags)
    head["version"] = version
    if spec.schema_ is not None:
        head["$schema"] = spec.schema_
    if spec.display_name is not None:
        head["display_name"] = spec.display_name
    return head


def command_component_spec(
    spec: CommandComponentSpec, version: str, code_id: str | None, environment_id: str
) -> dict[str, Any]:
    """A command component's `componentSpec`; code and environment as `azureml:<ARM id>`."""
    body = _header(spec, version)
    body["type"] = "command"
    if spec.inputs:
        body["inputs"] = _inputs(spec.inputs)
    if spec.outputs:
        body["outputs"] = _outputs(spec.outputs)
    body["command"] = spec.command
    body["environment"] = _azureml(environment_id)
    if code_id is not None:
        body["code"] = _azureml(code_id)
    body["is_deterministic"] = spec.is_deterministic
    body["_source"] = spec.source
    return body


def _azureml(arm_id: str) -> str:
    return arm_id if arm_id.startswith("azureml:") else f"azureml:{arm_id}"


_MODES = {
    "ro_mount": "ReadOnlyMount",
    "rw_mount": "ReadWriteMount",
    "download": "Download",
    "upload": "Upload",
    "direct": "Direct",
    "eval_mount": "EvalMount",
}
"""Delivery modes in REST spelling (azure-ai-ml's `INPUT_/OUTPUT_MOUNT_MAPPING_TO_REST`)."""


def _bare(reference: str) -> str:
    """azure-ai-ml drops `azureml:` from `azureml:name:version` (not from `azureml://`)."""
    return reference if reference.startswith("azureml://") else reference.removeprefix("azureml:")


def _data(value: StepData, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if value.path is not None:
        data["uri"] = _bare(value.path)
    if value.mode is not None:
        data["mode"] = _MODES[value.mode]
    data[kind] = value.type or "uri_folder"
    return data


def _step_input(value: StepValue) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, StepData):
        return _data(value, "job_input_type")
    return {"value": _value(value), "job_input_type": "literal"}


def _step_output(value: StepValue) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, StepData):
        return _data(value, "job_output_type")
    return {"value": _value(value), "type": "literal"}


def pipeline_component_spec(
    spec: PipelineComponentSpec, version: str, step_ids: Mapping[str, str]
) -> dict[str, Any]:
    """A pipeline component's `componentSpec`; each step names its component by ARM id."""
    body = _header(spec, version)
    if spec.inputs:
        body["inputs"] = _inputs(spec.inputs)
    if spec.outputs:
        body["outputs"] = _outputs(spec.outputs)
    body["type"] = "pipeline"
    jobs: dict[str, Any] = {}
    for name, step in spec.jobs.items():
        node: dict[str, Any] = {"name": name, "type": "command"}
        if step.display_name is not None:
            node["display_name"] = step.display_name
        if step.compute is not None:
            node["computeId"] = _bare(step.compute)
        inputs = {k: v for k, v in ((k, _step_input(v)) for k, v in step.inputs.items()) if v}
        if inputs:
            node["inputs"] = inputs
        outputs = {k: v for k, v in ((k, _step_output(v)) for k, v in step.outputs.items()) if v}
        if outputs:
            node["outputs"] = outputs
        # As azure-ai-ml marks the step: by where its component was read.
        node["_source"] = (
            step.local.source if step.local is not None else "REMOTE.WORKSPACE.COMPONENT"
        )
        node["componentId"] = step_ids[name]
        jobs[name] = node
    body["jobs"] = jobs
    body["_source"] = SOURCE
    # azure-ai-ml also sends `"sourceJobId": null`; the engine drops null values from
    # a dict input, and an absent key means the same to Azure.
    return body


def from_job_spec(job: str, version: str) -> dict[str, Any]:
    """The component az ml derives from a pipeline job (`PipelineComponent(source_job_id=...)`):
    Azure fills its graph from the job. `job` is the job's name or ARM id, as written."""
    return {
        "source_job_id": job,
        "name": ANONYMOUS,
        "version": version,
        "type": "pipeline",
        "_source": "CLASS",
        "jobs": {},
        "sourceJobId": job,
    }
