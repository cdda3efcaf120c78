"""Every CLI v2 field amlkit accepts reaches Azure, or is refused with a reason.

The test walks the specs' pydantic fields (deployments, endpoints, clusters, down to
each nested leaf; tests/plan/field_walk.py) and holds each to one case of CASES (the
case kinds: tests/plan/field_walk.py). Here: model deployments (online, Kubernetes,
batch), online and batch endpoints and compute clusters; a `Sent` field of an inline
model or environment holds the registered asset's body to azure-ai-ml's conversion of
its `Model` / `Environment` too. A pipeline-component batch deployment's fields:
tests/plan/test_field_coverage_pipeline.py.

A field with no case (of either module) fails `test_every_field_has_a_case`; a `Sent`
field that changes nothing fails its own case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.plan import test_field_coverage_pipeline as pipeline
from tests.plan.field_walk import (
    ASSET_TYPES,
    ENV,
    PLACE_SCHEMA,
    SCHEMA,
    WALKED,
    Base,
    Case,
    Elsewhere,
    Place,
    Refused,
    Sent,
    assets_as_azure_ai_ml,
    case_params,
    check_case,
    routes,
)

CONDA = "../../environment/conda.yml"
BASES: dict[str, Base] = {
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
}

UAI = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-id/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id-serving"
)


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


def _collector(collection: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {
        "data_collector": {
            "collections": {"model_inputs": {"enabled": "true", **collection}},
            **rest,
        }
    }


def _probe(name: str, key: str, value: int) -> dict[str, Any]:
    return {name: {key: value}}


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
            {"environment": {**env, "inference_config": routes(route, "port", 8080)}}
        )
        cases[f"environment.inference_config.{route}.path"] = Sent(
            {"environment": {**env, "inference_config": routes(route, "path", "/x")}}
        )
    return cases


def _user_assigned_identities(name: str) -> dict[str, Case]:
    """An endpoint's or a cluster's `identity.user_assigned_identities`: an ARM id is
    sent, a name is placed (`name` says where), a client or object id refused."""

    def identity(**one: str) -> dict[str, Any]:
        return {"identity": {"type": "user_assigned", "user_assigned_identities": [one]}}

    return {
        "identity.user_assigned_identities.resource_id": Sent(identity(resource_id=UAI)),
        "identity.user_assigned_identities.name": Place(name),
        "identity.user_assigned_identities.client_id": Refused(
            identity(client_id="x"), "client_id"
        ),
        "identity.user_assigned_identities.object_id": Refused(
            identity(object_id="x"), "object_id"
        ),
    }


ENDPOINT_COMMON: dict[str, Case] = {
    "$schema": PLACE_SCHEMA,
    "name": Sent({"name": "renamed-endpoint"}),
    "description": Sent({"description": "churn"}),
    "tags": Sent({"tags": {"team": "ml"}}),
    "properties": Sent({"properties": {"team": "ml"}}),
}
"""Fields online and batch endpoints share."""

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
        **ENDPOINT_COMMON,
        "auth_mode": Sent({"auth_mode": "aml_token"}),
        "identity.type": Sent({"identity": {"type": "none"}}),
        **_user_assigned_identities(
            "names an identity of the stack's `identities:`; sent as that identity's ARM id "
            "(tests/components/test_online_endpoint.py)"
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
        **ENDPOINT_COMMON,
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
        **_user_assigned_identities(
            "names an identity of the stack's `identities:` (tests/components/test_compute_cluster.py)"
        ),
    },
}


def test_every_field_has_a_case() -> None:
    """A field the specs accept with no case here or in the pipeline walk neither
    reaches Azure nor is refused."""
    cases = {**CASES, **pipeline.CASES}
    missing = [f"{kind}: {path}" for kind, path in WALKED if path not in cases[kind]]
    assert missing == []
    stale = [
        f"{kind}: {path}"
        for kind, kind_cases in cases.items()
        for path in kind_cases
        if (kind, path) not in WALKED
    ]
    assert stale == []
    assert len(WALKED) > 150  # the walk reaches nested blocks


@pytest.mark.parametrize(("kind", "path"), case_params(CASES))
def test_the_field_reaches_azure_or_is_refused(corpus: Path, kind: str, path: str) -> None:
    case = CASES[kind][path]
    assert isinstance(case, Sent | Elsewhere | Refused)
    reached = check_case(corpus, BASES, kind, path, case)
    if reached is None:
        return
    _, file, types = reached
    assets = types & set(ASSET_TYPES)
    if assets:
        assets_as_azure_ai_ml(file, assets)
