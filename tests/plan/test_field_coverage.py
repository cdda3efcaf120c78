"""Every CLI v2 field amlkit accepts reaches Azure, or is refused with a reason.

The test walks the specs' pydantic fields (deployments, endpoints, clusters, down to
each nested leaf) and holds each to one case of CASES:

- `Sent`: a file setting the field renders another request than the file without it
  (amlkit's component under the mock engine), and at each body path that changed,
  azure-ai-ml's REST conversion of the same file sends the same value (canonical form
  of Azure's models), or a difference the comparison test tolerates with its reason;
  for a field of an inline model or environment, the registered asset's body is held
  to azure-ai-ml's conversion of its `Model` / `Environment` instead;
- `Elsewhere`: the field is amlkit's own and reaches another Azure resource (autoscale);
- `Refused`: setting it is refused in one line saying why;
- `Unsent`: neither amlkit nor az ml sends it (a pipeline deployment's component's
  `name`/`version`: both register it anonymously): setting it changes none of
  amlkit's requests, nor azure-ai-ml's conversion of the components;
- `Place`: it decides where the resource goes (its name in the URL, its kind), with the
  test that shows it.

A pipeline-component batch deployment is walked down to its component file and its
steps' command components (written inline for the walk) and their environments: a field
of the deployment is held to azure-ai-ml's BatchDeployment body (settings sent as
strings the one difference), one of a component to every ComponentVersion body
azure-ai-ml's `PipelineComponent` / `CommandComponent` `_to_rest_object()` builds,
apart from ids and versions, and a step's inline environment to its `Environment`'s.

A field with no case fails `test_every_field_has_a_case`; a `Sent` field that changes
nothing fails its own case.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import shutil
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from amlkit.plan import azure_body, azure_models
from amlkit.plan.azure_check import check_body
from amlkit.plan.mock_engine import Recording
from amlkit.specs import (
    BatchDeploymentSpec,
    BatchEndpointSpec,
    ComputeClusterSpec,
    ConfigError,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    PipelineBatchDeploymentSpec,
    load_cli_yaml,
)
from tests.cli_v2 import FIXTURES, azure_ai_ml_load, schema_kind
from tests.fidelity import (
    ML,
    RENDERED_TYPES,
    WORKSPACE_ID,
    amlkit_body,
    amlkit_render,
    azure_ai_ml_body,
    canonical,
    differences,
)
from tests.plan.test_azure_fidelity import _tolerance

SCHEMA = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
ENV = {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"}
CONDA = "../../environment/conda.yml"
BASES: dict[str, tuple[str, dict[str, Any]]] = {
    # kind -> (folder under the fixtures copy, the file without the field)
    "online_deployment": (
        "online/managed",
        {
            "$schema": SCHEMA.format("managedOnlineDeployment"),
            "name": "blue",
            "endpoint_name": "fixture-key",
            "model": {"path": "../../model"},
            "code_configuration": {"code": "../../onlinescoring", "scoring_script": "score.py"},
            "environment": {**ENV, "conda_file": CONDA},
            "instance_type": "Standard_DS3_v2",
            "instance_count": 1,
        },
    ),
    "kubernetes_deployment": (
        "online/kubernetes",
        {
            "$schema": SCHEMA.format("kubernetesOnlineDeployment"),
            "name": "green",
            "endpoint_name": "fixture-k8s",
            "type": "kubernetes",
            "model": "azureml:fixture-churn:3",
            "code_configuration": {
                "code": "azureml:fixture-churn-scoring:1",
                "scoring_script": "score.py",
            },
            "environment": "azureml:fixture-serving:2",
            "resources": {"requests": {"cpu": "0.25", "memory": "512Mi"}},
        },
    ),
    "batch_deployment": (
        "batch",
        {
            "$schema": SCHEMA.format("modelBatchDeployment"),
            "name": "classifier",
            "endpoint_name": "fixture-batch",
            "type": "model",
            "model": {"path": "../model"},
            "code_configuration": {"code": "../batchscoring", "scoring_script": "batch_score.py"},
            "environment": {**ENV, "conda_file": "../environment/conda.yml"},
            "compute": "azureml:batch-cluster",
            "settings": {"mini_batch_size": 10},
        },
    ),
    "online_endpoint": (
        "online/managed",
        {"$schema": SCHEMA.format("managedOnlineEndpoint"), "name": "fixture-key"},
    ),
    "batch_endpoint": (
        "batch",
        {"$schema": SCHEMA.format("batchEndpoint"), "name": "fixture-batch"},
    ),
    "compute": (
        "compute",
        {"$schema": SCHEMA.format("amlCompute"), "name": "cpu", "type": "amlcompute"},
    ),
    "pipeline_deployment": (
        "pipeline",
        {
            "$schema": SCHEMA.format("pipelineComponentBatchDeployment"),
            "name": "prepare-score",
            "endpoint_name": "pipeline-batch",
            "type": "pipeline",
            "component": "pipeline.yml",  # PIPELINE_DOC, below
            "settings": {"default_compute": "batch-cluster"},
        },
    ),
}

SPEC_BASES: dict[type[BaseModel], str] = {
    OnlineDeploymentSpec: "online_deployment",
    BatchDeploymentSpec: "batch_deployment",
    OnlineEndpointSpec: "online_endpoint",
    BatchEndpointSpec: "batch_endpoint",
    ComputeClusterSpec: "compute",
    PipelineBatchDeploymentSpec: "pipeline_deployment",
}
"""The specs walked; endpoints' `deployments` are walked as the deployment specs; a
pipeline deployment's `component` down to its steps' command components."""

UAI = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-id/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id-serving"
)


@dataclass(frozen=True)
class Sent:
    patch: dict[str, Any]
    base: str = ""
    """The BASES entry to patch; default: the spec's own."""
    before: dict[str, Any] = field(default_factory=dict)
    """What both files set, where the field needs company (`patch` goes on top)."""


@dataclass(frozen=True)
class Elsewhere:
    patch: dict[str, Any]
    resource: str
    reason: str
    base: str = ""


@dataclass(frozen=True)
class Refused:
    patch: dict[str, Any]
    message: str
    base: str = ""


@dataclass(frozen=True)
class Unsent:
    patch: dict[str, Any]
    reason: str
    """Why neither az ml nor amlkit sends it."""
    base: str = ""
    before: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Place:
    reason: str
    """What the field decides, and the test that shows it."""


Case = Sent | Elsewhere | Refused | Unsent | Place

K8S = "kubernetes_deployment"
TARGET_UTILIZATION = {
    "type": "target_utilization",
    "min_instances": 1,
    "max_instances": 3,
    "polling_interval": 10,
    "target_utilization_percentage": 70,
}
"""Every setting given: az ml sends none it is not given, amlkit each with its default."""
ROLLOUT_PLACE = Place(
    "amlkit's own `rollout:` section: it drives `amlkit rollout` and the plan's rollout "
    "times, never a request to Azure (tests/specs/test_rollout.py, tests/rollout/)"
)
ROLLOUT_FIELDS = (
    *(f"rollout.{f}" for f in ("bake", "baseline", "candidate", "initial_delay")),
    *(f"rollout.{f}" for f in ("max_inconclusive", "metrics_lag", "min_requests")),
    *(f"rollout.{f}" for f in ("on_failure", "on_inconclusive", "timeout")),
    *(f"rollout.gates.{f}" for f in ("max", "max_over_baseline", "max_ratio_to_baseline")),
    "rollout.gates.metric",
    "rollout.shadow.duration",
    "rollout.shadow.percent",
    "rollout.smoke.request_file",
    "rollout.smoke.requests",
    "rollout.smoke.statuses",
    "rollout.strategy.step",
    "rollout.strategy.steps",
    "rollout.strategy.type",
)
PLACE_SCHEMA = Place("decides the file's kind: tests/specs/test_file_kind.py")


def _collector(collection: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {
        "data_collector": {
            "collections": {"model_inputs": {"enabled": "true", **collection}},
            **rest,
        }
    }


def _probe(name: str, key: str, value: int) -> dict[str, Any]:
    return {name: {key: value}}


_INFERENCE = {
    "liveness_route": {"port": 5001, "path": "/"},
    "readiness_route": {"port": 5001, "path": "/ready"},
    "scoring_route": {"port": 5001, "path": "/score"},
}


def _route(route: str, key: str, value: Any, conda: str) -> dict[str, Any]:
    routes = copy.deepcopy(_INFERENCE)
    routes[route][key] = value
    return {"environment": {**ENV, "conda_file": conda, "inference_config": routes}}


def _deployment_common(kind: str) -> dict[str, Case]:
    """Fields online and batch deployments share (model, code, environment, ...)."""
    conda = CONDA if kind == "online_deployment" else "../environment/conda.yml"
    env = {**ENV, "conda_file": conda}
    cases: dict[str, Case] = {
        "$schema": PLACE_SCHEMA,
        "name": Sent({"name": "renamed"}),
        "endpoint_name": Sent({"endpoint_name": "renamed-endpoint"}),
        "description": Sent({"description": "scores churn"}),
        "tags": Sent({"tags": {"team": "ml"}}),
        "properties": Sent({"properties": {"team": "ml"}}),
        "model.path": Sent(
            {"model": {"path": "../../onlinescoring" if "online" in kind else "../batchscoring"}}
        ),
        "model.name": Sent(
            {"model": {"path": "../../model" if "online" in kind else "../model", "name": "churn"}}
        ),
        "model.version": Sent(
            {
                "model": {
                    "path": "../../model" if "online" in kind else "../model",
                    "name": "churn",
                    "version": "7",
                }
            }
        ),
        "model.type": Sent(
            {
                "model": {
                    "path": "../../model" if "online" in kind else "../model",
                    "type": "mlflow_model",
                }
            }
        ),
        "model.description": Sent(
            {
                "model": {
                    "path": "../../model" if "online" in kind else "../model",
                    "description": "weights",
                }
            }
        ),
        "code_configuration.code": Sent(
            {"code_configuration": {"code": "azureml:scoring:1", "scoring_script": "score.py"}}
        ),
        "code_configuration.scoring_script": Sent(
            {"code_configuration": {"code": "azureml:scoring:1", "scoring_script": "other.py"}}
        ),
        "environment.name": Sent({"environment": {**env, "name": "serving"}}),
        "environment.version": Sent({"environment": {**env, "version": "4"}}),
        "environment.image": Sent(
            {
                "environment": {
                    "image": "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference:latest",
                    "conda_file": conda,
                }
            }
        ),
        "environment.conda_file": Sent({"environment": {"image": ENV["image"]}}),
        "environment.description": Sent({"environment": {**env, "description": "serving"}}),
        "environment.os_type": Sent({"environment": {**env, "os_type": "windows"}}),
    }
    for route in ("liveness_route", "readiness_route", "scoring_route"):
        cases[f"environment.inference_config.{route}.port"] = Sent(
            _route(route, "port", 8080, conda)
        )
        cases[f"environment.inference_config.{route}.path"] = Sent(
            _route(route, "path", "/x", conda)
        )
    return cases


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and key
            not in (
                "model",
                "environment",
                "code_configuration",
            )
        ):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


PIPELINE = "pipeline_deployment"
PIPELINE_DOC: dict[str, Any] = yaml.safe_load((FIXTURES / "pipeline/pipeline.yml").read_text())
PIPELINE_DOC["jobs"]["prepare"]["component"] = "azureml:prepare_rows:1"
"""The pipeline component the pipeline deployment's base runs: the fixture's, its
prepare step naming a registered component (nothing of that step to register: each
registration costs a case time, and the score step's component is the one walked).
The base file's `component:` (written beside it by `_file`), so a case's file differs
from the base's by its field alone."""
BASES[PIPELINE][1]["component"] = PIPELINE_DOC
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
    (written beside the deployment by `_file`)."""
    return {"component": _merge(PIPELINE_DOC, changes)}


def _step(step: dict[str, Any] | None = None, /, **changes: Any) -> dict[str, Any]:
    """The pipeline with its score step's command component inline, `changes` on top
    of it, and `step` on top of the step."""
    score = {**PIPELINE_DOC["jobs"]["score"], "component": _merge(SCORE_STEP, changes)}
    return _component(jobs={"score": _merge(score, step or {})})


def _step_env(**environment: Any) -> dict[str, Any]:
    return _step(environment={"image": ENV["image"], **environment})


def _step_route(route: str, key: str, value: Any) -> dict[str, Any]:
    routes = copy.deepcopy(_INFERENCE)
    routes[route][key] = value
    return _step_env(inference_config=routes)


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
                _step_route(route, key, value), before=_step_env(inference_config=_INFERENCE)
            )
    return cases


CASES: dict[str, dict[str, Case]] = {
    "online_deployment": {
        **_deployment_common("online_deployment"),
        "type": Sent(
            {"type": "kubernetes", "$schema": SCHEMA.format("kubernetesOnlineDeployment")}
        ),
        "model_mount_path": Sent({"model_mount_path": "/var/model"}),
        "environment_variables": Sent({"environment_variables": {"WORKER_COUNT": "3"}}),
        "instance_type": Sent({"instance_type": "Standard_DS4_v2"}),
        "instance_count": Sent({"instance_count": 3}),
        "app_insights_enabled": Sent({"app_insights_enabled": True}),
        "scale_settings.type": Sent({"scale_settings": TARGET_UTILIZATION}, base=K8S),
        **{
            f"scale_settings.{key}": Sent(
                {"scale_settings": {**TARGET_UTILIZATION, key: value}},
                base=K8S,
                before={"scale_settings": TARGET_UTILIZATION},
            )
            for key, value in (
                ("min_instances", 2),
                ("max_instances", 5),
                ("polling_interval", 30),
                ("target_utilization_percentage", 50),
            )
        },
        "request_settings.request_timeout_ms": Sent(
            {"request_settings": {"request_timeout_ms": 9000}}
        ),
        "request_settings.max_concurrent_requests_per_instance": Sent(
            {"request_settings": {"max_concurrent_requests_per_instance": 4}}
        ),
        "request_settings.max_queue_wait_ms": Sent(
            {"request_settings": {"max_queue_wait_ms": 900}}
        ),
        **{
            f"{probe}.{key}": Sent(_probe(probe, key, value))
            for probe in ("liveness_probe", "readiness_probe")
            for key, value in (
                ("initial_delay", 30),
                ("period", 20),
                ("timeout", 7),
                ("failure_threshold", 4),
            )
        },
        "liveness_probe.success_threshold": Refused(
            {"liveness_probe": {"success_threshold": 2}}, "Azure fixes it at 1"
        ),
        "readiness_probe.success_threshold": Sent(
            _probe("readiness_probe", "success_threshold", 3)
        ),
        "egress_public_network_access": Sent({"egress_public_network_access": "disabled"}),
        "private_network_connection": Sent({"private_network_connection": True}),
        "data_collector.collections.enabled": Sent(_collector({"enabled": "false"})),
        "data_collector.collections.data.name": Sent(_collector({"data": {"name": "inputs"}})),
        "data_collector.collections.data.path": Sent(
            _collector({"data": {"path": "azureml://datastores/workspaceblobstore/paths/in"}})
        ),
        "data_collector.collections.data.version": Sent(_collector({"data": {"version": "3"}})),
        "data_collector.collections.client_id": Sent(
            _collector({"client_id": "22222222-2222-2222-2222-222222222222"})
        ),
        "data_collector.sampling_rate": Sent(_collector({}, sampling_rate=0.25)),
        "data_collector.rolling_rate": Sent(_collector({}, rolling_rate="day")),
        "data_collector.request_logging.capture_headers": Sent(
            _collector({}, request_logging={"capture_headers": ["x-id"]})
        ),
        **{
            f"resources.{side}.{key}": Sent(
                {
                    "resources": {
                        "requests": {"cpu": "0.25", "memory": "512Mi"},
                        "limits": {"cpu": "2", "memory": "2Gi"},
                        side: {
                            **({"cpu": "0.25", "memory": "512Mi"} if side == "requests" else {}),
                            key: value,
                        },
                    }
                },
                base=K8S,
            )
            for side, key, value in (
                ("requests", "cpu", "0.5"),
                ("requests", "memory", "1Gi"),
                ("limits", "cpu", "1"),
                ("limits", "memory", "1Gi"),
                ("limits", "nvidia.com/gpu", "1"),
            )
        },
        "resources.requests.nvidia.com/gpu": Refused(
            {"resources": {"requests": {"cpu": "0.25", "memory": "512Mi", "nvidia.com/gpu": 1}}},
            "GPUs go under limits only",
            base=K8S,
        ),
        **{
            f"autoscale.{path}": Elsewhere(
                {"autoscale": patch},
                f"{'azure-native:monitor:AutoscaleSetting'}",
                "amlkit's autoscale: an Azure Monitor autoscale setting aimed at the deployment",
            )
            for path, patch in (
                ("min_instances", {"min_instances": 1, "max_instances": 3}),
                ("max_instances", {"max_instances": 4}),
                ("default_instances", {"max_instances": 3, "default_instances": 2}),
                ("cpu.scale_out_above", {"max_instances": 3, "cpu": {"scale_out_above": 60}}),
                ("cpu.scale_in_below", {"max_instances": 3, "cpu": {"scale_in_below": 20}}),
                ("cpu.window_minutes", {"max_instances": 3, "cpu": {"window_minutes": 15}}),
                ("cpu.cooldown_minutes", {"max_instances": 3, "cpu": {"cooldown_minutes": 10}}),
                ("cpu.change_count", {"max_instances": 3, "cpu": {"change_count": 2}}),
                (
                    "latency.scale_out_above_ms",
                    {"max_instances": 3, "latency": {"scale_out_above_ms": 400}},
                ),
                (
                    "latency.window_minutes",
                    {
                        "max_instances": 3,
                        "latency": {"scale_out_above_ms": 400, "window_minutes": 9},
                    },
                ),
                (
                    "latency.cooldown_minutes",
                    {
                        "max_instances": 3,
                        "latency": {"scale_out_above_ms": 400, "cooldown_minutes": 9},
                    },
                ),
                (
                    "latency.change_count",
                    {"max_instances": 3, "latency": {"scale_out_above_ms": 400, "change_count": 2}},
                ),
                ("enabled", {"max_instances": 3, "enabled": True}),
            )
        },
    },
    "batch_deployment": {
        **_deployment_common("batch_deployment"),
        "type": Place(
            "`model`; `pipeline` loads as a pipeline deployment, walked as its own spec "
            "(tests/specs/test_file_kind.py)"
        ),
        "compute": Sent({"compute": "azureml:other-cluster"}),
        "resources.instance_count": Sent({"resources": {"instance_count": 3}}),
        **{
            f"settings.{key}": Sent({"settings": {"mini_batch_size": 10, key: value}})
            for key, value in (
                ("max_concurrency_per_instance", 3),
                ("error_threshold", 5),
                ("logging_level", "debug"),
                ("output_action", "summary_only"),
                ("output_file_name", "out.csv"),
                ("environment_variables", {"X": "1"}),
                ("retry_settings", None),
            )
            if key != "retry_settings"
        },
        "settings.mini_batch_size": Sent({"settings": {"mini_batch_size": 4}}),
        "settings.retry_settings.max_retries": Sent(
            {"settings": {"mini_batch_size": 10, "retry_settings": {"max_retries": 5}}}
        ),
        "settings.retry_settings.timeout": Sent(
            {"settings": {"mini_batch_size": 10, "retry_settings": {"timeout": 90}}}
        ),
        "settings.instance_count": Sent({"settings": {"mini_batch_size": 10, "instance_count": 3}}),
    },
    "online_endpoint": {
        "$schema": PLACE_SCHEMA,
        "name": Sent({"name": "renamed-endpoint"}),
        "description": Sent({"description": "churn"}),
        "tags": Sent({"tags": {"team": "ml"}}),
        "properties": Sent({"properties": {"team": "ml"}}),
        "auth_mode": Sent({"auth_mode": "aml_token"}),
        "identity.type": Sent({"identity": {"type": "none"}}),
        "identity.user_assigned_identities.resource_id": Sent(
            {
                "identity": {
                    "type": "user_assigned",
                    "user_assigned_identities": [{"resource_id": UAI}],
                }
            }
        ),
        "identity.user_assigned_identities.name": Place(
            "names an identity of the stack's `identities:`; sent as that identity's ARM id "
            "(tests/components/test_online_endpoint.py)"
        ),
        "identity.user_assigned_identities.client_id": Refused(
            {
                "identity": {
                    "type": "user_assigned",
                    "user_assigned_identities": [{"client_id": "x"}],
                }
            },
            "client_id",
        ),
        "identity.user_assigned_identities.object_id": Refused(
            {
                "identity": {
                    "type": "user_assigned",
                    "user_assigned_identities": [{"object_id": "x"}],
                }
            },
            "object_id",
        ),
        "public_network_access": Sent({"public_network_access": "disabled"}),
        "compute": Sent(
            {"compute": "azureml:k8s-compute", "$schema": SCHEMA.format("kubernetesOnlineEndpoint")}
        ),
        "traffic": Place(
            "written once the deployments exist (components/online_traffic.py; "
            "tests/components/test_endpoint_traffic_scenarios.py)"
        ),
        "mirror_traffic": Place("as traffic (tests/components/test_endpoint_traffic_scenarios.py)"),
        **dict.fromkeys(ROLLOUT_FIELDS, ROLLOUT_PLACE),
    },
    "batch_endpoint": {
        "$schema": PLACE_SCHEMA,
        "name": Sent({"name": "renamed-endpoint"}),
        "description": Sent({"description": "churn"}),
        "tags": Sent({"tags": {"team": "ml"}}),
        "properties": Sent({"properties": {"team": "ml"}}),
        "auth_mode": Refused({"auth_mode": "key"}, "batch endpoints take `aad_token` only"),
        "defaults.deployment_name": Place(
            "written once the deployment exists (difference batch-default-written-later; "
            "test_the_batch_default_is_written_once_deployed)"
        ),
    },
    "compute": {
        "$schema": PLACE_SCHEMA,
        "name": Sent({"name": "renamed"}),
        "type": Refused({"type": "computeinstance"}, "amlkit does not support compute instances"),
        "description": Sent({"description": "training"}),
        "location": Sent({"location": "northeurope"}),
        "tags": Sent({"tags": {"team": "ml"}}),
        "size": Sent({"size": "Standard_DS4_v2"}),
        "tier": Sent({"tier": "low_priority"}),
        "min_instances": Sent({"min_instances": 1}),
        "max_instances": Sent({"max_instances": 8}),
        "idle_time_before_scale_down": Sent({"idle_time_before_scale_down": 600}),
        "ssh_public_access_enabled": Sent(
            {"ssh_public_access_enabled": True},
            before={"ssh_settings": {"admin_username": "ops", "ssh_key_value": "ssh-rsa AAAA x"}},
        ),
        "ssh_settings.admin_username": Sent(
            {"ssh_settings": {"admin_username": "ops", "ssh_key_value": "ssh-rsa AAAA x"}}
        ),
        "ssh_settings.admin_password": Sent(
            {"ssh_settings": {"admin_username": "ops", "admin_password": "Xk9!correct-horse"}}
        ),
        "ssh_settings.ssh_key_value": Sent(
            {"ssh_settings": {"admin_username": "ops", "ssh_key_value": "ssh-rsa AAAA x"}}
        ),
        "network_settings.vnet_name": Sent(
            {"network_settings": {"vnet_name": "vnet-ml", "subnet": "snet"}}
        ),
        "network_settings.subnet": Sent(
            {
                "network_settings": {
                    "subnet": UAI.replace(
                        "Microsoft.ManagedIdentity/userAssignedIdentities/id-serving",
                        "Microsoft.Network/virtualNetworks/v/subnets/s",
                    )
                }
            }
        ),
        "enable_node_public_ip": Sent(
            {"enable_node_public_ip": False, "network_settings": {"vnet_name": "v", "subnet": "s"}}
        ),
        "identity.type": Sent({"identity": {"type": "system_assigned"}}),
        "identity.user_assigned_identities.resource_id": Sent(
            {
                "identity": {
                    "type": "user_assigned",
                    "user_assigned_identities": [{"resource_id": UAI}],
                }
            }
        ),
        "identity.user_assigned_identities.name": Place(
            "names an identity of the stack's `identities:` (tests/components/test_compute_cluster.py)"
        ),
        "identity.user_assigned_identities.client_id": Refused(
            {
                "identity": {
                    "type": "user_assigned",
                    "user_assigned_identities": [{"client_id": "x"}],
                }
            },
            "client_id",
        ),
        "identity.user_assigned_identities.object_id": Refused(
            {
                "identity": {
                    "type": "user_assigned",
                    "user_assigned_identities": [{"object_id": "x"}],
                }
            },
            "object_id",
        ),
    },
    PIPELINE: _pipeline_cases(),
}


# -- the walk ---------------------------------------------------------------------------


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def leaf_fields(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every leaf field of a spec, dotted by its CLI v2 names (aliases)."""
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        nested = list(_models(info.annotation))
        if any(m in SPEC_BASES for m in nested):
            continue  # an endpoint's deployments: walked as their own spec
        if nested:
            for sub in nested:
                yield from leaf_fields(sub, f"{key}.")
        else:
            yield key


WALKED = sorted(
    (kind, path) for spec, kind in SPEC_BASES.items() for path in set(leaf_fields(spec))
)


def test_every_field_has_a_case() -> None:
    """A field the specs accept with no case here neither reaches Azure nor is refused."""
    missing = [f"{kind}: {path}" for kind, path in WALKED if path not in CASES[kind]]
    assert missing == []
    stale = [
        f"{kind}: {path}"
        for kind, cases in CASES.items()
        for path in cases
        if (kind, path) not in WALKED
    ]
    assert stale == []
    assert len(WALKED) > 150  # the walk reaches nested blocks


# -- rendering ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixtures (models, scoring code, conda file) to write files beside."""
    root = tmp_path_factory.mktemp("fields") / "cli-v2"
    shutil.copytree(FIXTURES, root)
    return root


def _file(corpus: Path, base: str, patch: Mapping[str, Any]) -> Path:
    """The base file with `patch` on top, named by its content (so equal files render once)."""
    folder, doc = BASES[base]
    doc = {k: v for k, v in _merge(doc, patch).items() if v is not None}
    if isinstance(doc.get("component"), dict):  # a pipeline component file beside it
        text = yaml.safe_dump(doc["component"], sort_keys=False)
        doc["component"] = f"component-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yml"
        (corpus / folder / doc["component"]).write_text(text)
    text = yaml.safe_dump(doc, sort_keys=False)
    file = corpus / folder / f"field-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yml"
    file.write_text(text)
    return file


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, item in value.items():
            found |= _flat(item, f"{prefix}.{key}" if prefix else str(key))
        return found
    return {prefix: json.dumps(value, sort_keys=True, default=str)}


@functools.cache
def _render(file: Path) -> Recording:
    """Each file rendered once (a case renders it for its inputs, body and assets)."""
    return amlkit_render(file)


@functools.cache
def _their_entity(file: Path) -> Any:
    """azure-ai-ml's entity of each file, loaded once (its loader is the slowest step
    of a case): read for the URL names, converted for its body (`_their_body`, once),
    its model's, environment's and components' bodies."""
    return azure_ai_ml_load(file)


@functools.cache
def _their_body(file: Path) -> dict[str, Any]:
    return azure_ai_ml_body(file, _their_entity(file))


@functools.cache
def _requests(file: Path) -> set[tuple[str, str, str]]:
    """(type, path, value) of every input of every Azure resource amlkit renders."""
    found = set()
    for resource in _render(file).resources:
        if resource.type.startswith("azure-native:"):
            for path, value in _flat(resource.inputs).items():
                found.add((resource.type, path, value))
    return found


def _encoded(rest: Any) -> dict[str, Any]:
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import SdkJSONEncoder

    class Encoder(SdkJSONEncoder):
        def default(self, o: Any) -> Any:
            try:
                return super().default(o)  # type: ignore[no-untyped-call]
            except TypeError:
                return str(o)

    body: dict[str, Any] = json.loads(json.dumps(rest, cls=Encoder, exclude_readonly=True))
    return body


def _asset_bodies(file: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """amlkit's and azure-ai-ml's canonical bodies of the file's inline model and
    environment, by azure-native type."""
    entity = _their_entity(file)
    recording = _render(file)
    found = {}
    for typ, theirs in (
        ("ModelVersion", getattr(entity, "model", None)),
        ("EnvironmentVersion", getattr(entity, "environment", None)),
    ):
        mine = recording.of_type(f"{ML}:{typ}")
        if not mine or theirs is None or isinstance(theirs, str):
            continue
        model = azure_models.model_for(f"{ML}:{typ}")
        assert model is not None
        ours = azure_body.request_body(f"{ML}:{typ}", mine[0].inputs, model)
        found[typ] = (
            check_body(ours, model)[0],
            check_body(_encoded(theirs._to_rest_object()), model)[0],
        )
    return found


_ASSET_TYPES = ("ModelVersion", "EnvironmentVersion")


def _assets_as_azure_ai_ml(file: Path, changed: set[str]) -> None:
    """An inline model's or environment's registration: amlkit's body is azure-ai-ml's
    conversion of its `Model` / `Environment`, apart from the upload's URI and amlkit's
    content hash."""
    bodies = _asset_bodies(file)
    assert changed <= set(bodies), f"{changed - set(bodies)}: no azure-ai-ml asset to hold it to"
    for typ in changed:
        our_asset, their_asset = bodies[typ]
        unexplained = {
            p: v
            for p, v in differences(our_asset, their_asset).items()
            if p not in _ASSET_IDS
            and not (v[0] in (None, {}) and v[1] in (None, {}, False))
            and not _ASSET_SAME.get(p, lambda ours, theirs: False)(*v)
        }
        assert unexplained == {}, f"{typ}: {unexplained}"


_ASSET_SAME: dict[str, Any] = {
    # Azure's defaults, which azure-native's Args write out
    "properties.autoRebuild": lambda ours, theirs: (ours, theirs) == ("Disabled", None),
    "properties.osType": lambda ours, theirs: (ours, theirs) == ("Linux", None),
    # asset naming, as asset ids: amlkit registers every inline asset under a name
    # (`<deployment>-model` / `-env`) and a content-hash version, where az ml registers an
    # unnamed one anonymously (amlkit.specs.asset_uses)
    "properties.isAnonymous": lambda ours, theirs: (ours, theirs) == (False, True),
    # az ml reads the conda file as YAML and writes it back; amlkit sends its text
    "properties.condaFile": lambda ours, theirs: yaml.safe_load(ours) == yaml.safe_load(theirs),
}
"""Asset body differences with the same meaning to Azure, each with its reason."""

# Paths of an asset body only the upload or amlkit's naming decides (asset ids).
_ASSET_IDS = {"properties.modelUri", "properties.properties.amlkit-content-sha256"}


CASE_PARAMS = [
    pytest.param(kind, path, id=f"{kind}:{path}")
    for kind, path in WALKED
    if isinstance(CASES[kind].get(path), Sent | Elsewhere | Refused | Unsent)
]


@pytest.mark.parametrize(("kind", "path"), CASE_PARAMS)
def test_the_field_reaches_azure_or_is_refused(corpus: Path, kind: str, path: str) -> None:
    case = CASES[kind][path]
    assert isinstance(case, Sent | Elsewhere | Refused | Unsent)
    base = case.base or kind
    before_patch = case.before if isinstance(case, Sent | Unsent) else {}
    file = _file(corpus, base, _merge(before_patch, case.patch))
    if isinstance(case, Refused):
        with pytest.raises(ConfigError) as caught:
            load_cli_yaml(file)
        (line,) = str(caught.value).splitlines()
        assert case.message in line and file.name in line
        return
    plain = _file(corpus, base, before_patch)
    changed = _requests(plain) ^ _requests(file)
    if isinstance(case, Unsent):
        assert changed == set(), case.reason
        assert _azure_ai_ml_components(plain) == _azure_ai_ml_components(file), case.reason
        return
    assert changed, f"{path}: setting it changes nothing amlkit sends"
    if isinstance(case, Elsewhere):
        assert {typ for typ, _, _ in changed} == {case.resource}, case.reason
        return
    _same_as_azure_ai_ml(plain, file)
    types = {typ.removeprefix(f"{ML}:") for typ, _, _ in changed}
    if kind == PIPELINE:
        if types & {"ComponentVersion", "CodeVersion", "EnvironmentVersion"}:
            _components_as_azure_ai_ml(file)
        return
    assets = types & set(_ASSET_TYPES)
    if assets:
        _assets_as_azure_ai_ml(file, assets)


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

    entity = _their_entity(file)
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
                found[f"{step}.environment"] = _encoded(environment._to_rest_object())
    return found


def _amlkit_components(file: Path) -> dict[str, Any]:
    """amlkit's registered ComponentVersion bodies, keyed as `_azure_ai_ml_components`."""
    recording = _render(file)
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
    `Environment`'s, apart from what `_ASSET_SAME` explains."""
    ours, theirs = _amlkit_components(file), _azure_ai_ml_components(file)
    assert set(ours) == set(theirs)
    model = azure_models.model_for(f"{ML}:EnvironmentVersion")
    assert model is not None
    for key, body in ours.items():
        if key.endswith(".environment"):
            unexplained = {
                p: v
                for p, v in differences(
                    check_body(body, model)[0], check_body(theirs[key], model)[0]
                ).items()
                if p not in _ASSET_IDS
                and not (v[0] in (None, {}) and v[1] in (None, {}, False))
                and not _ASSET_SAME.get(p, lambda ours, theirs: False)(*v)
            }
            assert unexplained == {}, f"{key}: {unexplained}"
            continue
        assert _without_ids(body["componentSpec"]) == _without_ids(theirs[key]["componentSpec"]), (
            key or "pipeline"
        )
        version = {k: v for k, v in body.items() if k != "componentSpec"}
        expected = {k: v for k, v in theirs[key].items() if k != "componentSpec"}
        assert version == {k: v for k, v in expected.items() if v is not None}, key or "pipeline"


_URL_NAMES = {
    "OnlineDeployment": {"deploymentName": "name", "endpointName": "endpoint_name"},
    "BatchDeployment": {"deploymentName": "name", "endpointName": "endpoint_name"},
    "OnlineEndpoint": {"endpointName": "name"},
    "BatchEndpoint": {"endpointName": "name"},
    "Compute": {"computeName": "name"},
}
"""The names in a resource's PUT URL, as azure-native's inputs and azure-ai-ml's entity
attributes hold them."""


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


def _same_as_azure_ai_ml(plain: Path, file: Path) -> None:
    """The names in the URL are azure-ai-ml's, and at each body path the field changed,
    azure-ai-ml sends what amlkit sends."""
    typ = RENDERED_TYPES[schema_kind(file)]
    (resource,) = _render(file).of_type(f"{ML}:{typ}")
    entity = _their_entity(file)
    for url, attr in _URL_NAMES[typ].items():
        assert resource.inputs[url] == getattr(entity, attr), url
    ours_before, _ = canonical(plain, amlkit_body(plain, _render(plain)))
    ours, _ = canonical(file, amlkit_body(file, _render(file)))
    theirs, _ = canonical(file, _their_body(file))
    moved = differences(ours_before, ours)
    for body_path in moved:
        pair = differences(ours, theirs).get(body_path)
        if pair is None:
            continue  # the same in both bodies
        if _tolerance(body_path, *pair) is not None or _pipeline_same(body_path, *pair):
            continue
        if body_path.startswith(("properties.model", "properties.environmentId")):
            # an inline asset's new version: its registration must match az ml's instead
            for typ, (our_asset, their_asset) in _asset_bodies(file).items():
                unexplained = {
                    p: v
                    for p, v in differences(our_asset, their_asset).items()
                    if p not in _ASSET_IDS
                    and not (v[0] in (None, {}) and v[1] in (None, {}, False))
                }
                assert unexplained == {}, f"{typ}: {unexplained}"
            continue
        raise AssertionError(f"{body_path}: amlkit sends {pair[0]!r}, azure-ai-ml {pair[1]!r}")
