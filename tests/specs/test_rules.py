"""One test per config rule: each broken config yields a one-line problem that
names the file, the field path and what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Mutation = Callable[[dict[str, Any]], object]
Build = Callable[[Mutation | None], Any]
Problems = Callable[[Mutation], list[str]]


def online(v: dict[str, Any]) -> dict[str, Any]:
    endpoint: dict[str, Any] = v["online_endpoints"][0]
    return endpoint


def deployment(v: dict[str, Any], index: int = 0) -> dict[str, Any]:
    dep: dict[str, Any] = online(v)["deployments"][index]
    return dep


def batch(v: dict[str, Any]) -> dict[str, Any]:
    endpoint: dict[str, Any] = v["batch_endpoints"][0]
    return endpoint


def set_(target: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Mutation:
    return lambda v: target(v).update({key: value})


RULES: list[tuple[str, Mutation, str, str]] = [
    # (rule, mutation, field path in the problem, words of the message)
    (
        "traffic names a deployment that does not exist",
        set_(online, "traffic", {"blue": 50, "purple": 50}),
        "online_endpoints[test-score]",
        "traffic names ['purple']",
    ),
    (
        "traffic sums to 0 or 100",
        set_(online, "traffic", {"blue": 60, "green": 30}),
        "online_endpoints[test-score]",
        "sums to 90",
    ),
    (
        "traffic values are percentages",
        set_(online, "traffic", {"blue": 120}),
        "online_endpoints[test-score].traffic.blue",
        "less than or equal to 100",
    ),
    (
        "mirror traffic goes to one deployment",
        set_(online, "mirror_traffic", {"green": 10, "shadow": 10}),
        "online_endpoints[test-score]",
        "one deployment at most",
    ),
    (
        "mirror traffic is at most 50%",
        set_(online, "mirror_traffic", {"shadow": 60}),
        "online_endpoints[test-score]",
        "at most 50%",
    ),
    (
        "mirror traffic never goes to a deployment with live traffic",
        set_(online, "mirror_traffic", {"green": 10}),
        "online_endpoints[test-score]",
        "has live traffic",
    ),
    (
        "mirror traffic names an existing deployment",
        set_(online, "mirror_traffic", {"ghost": 10}),
        "online_endpoints[test-score]",
        "not a deployment",
    ),
    (
        "no mirror traffic on Kubernetes endpoints",
        lambda v: (
            online(v).update(compute="azureml:k8s", mirror_traffic={"shadow": 10}),
            [
                d.update(type="kubernetes", instance_type="defaultinstancetype", autoscale=None)
                for d in online(v)["deployments"]
            ],
        ),
        "online_endpoints[test-score]",
        "Kubernetes endpoints do not support mirroring",
    ),
    (
        "endpoint names: a letter first",
        set_(online, "name", "1-score"),
        "online_endpoints[1-score].name",
        "does not match",
    ),
    (
        "endpoint names: at least 3 characters",
        set_(online, "name", "ab"),
        "online_endpoints[ab].name",
        "at least 3 characters",
    ),
    (
        "endpoint names: at most 32 characters",
        set_(online, "name", "a" * 33),
        "online_endpoints[" + "a" * 33 + "].name",
        "at most 32 characters",
    ),
    (
        "endpoint names: no trailing hyphen",
        set_(online, "name", "score-"),
        "online_endpoints[score-].name",
        "does not match",
    ),
    (
        "deployment names follow the endpoint rule",
        lambda v: (
            deployment(v).update(name="blue_1"),
            online(v).update(traffic={"green": 100}),
        ),
        "online_endpoints[test-score].deployments[blue_1].name",
        "does not match",
    ),
    (
        "compute names are 2 to 16 characters",
        lambda v: v["compute"][0].__setitem__("name", "a-very-long-cluster-name"),
        "compute[a-very-long-cluster-name].name",
        "at most 16 characters",
    ),
    (
        "compute min_instances <= max_instances",
        lambda v: v["compute"][0].update(min_instances=3, max_instances=2),
        "compute[cpu-cluster]",
        "min_instances (3) is above max_instances (2)",
    ),
    (
        "autoscale min <= max",
        lambda v: deployment(v).__setitem__("autoscale", {"min_instances": 5, "max_instances": 4}),
        "online_endpoints[test-score].deployments[blue].autoscale",
        "above max_instances",
    ),
    (
        "autoscale default lies within min..max",
        lambda v: deployment(v).__setitem__(
            "autoscale", {"min_instances": 3, "max_instances": 5, "default_instances": 7}
        ),
        "online_endpoints[test-score].deployments[blue].autoscale",
        "default_instances (7)",
    ),
    (
        "autoscale never goes below one instance",
        lambda v: deployment(v).__setitem__("autoscale", {"min_instances": 0, "max_instances": 4}),
        "deployments[blue].autoscale.min_instances",
        "greater than or equal to 1",
    ),
    (
        "instance_count lies within the autoscale range",
        lambda v: deployment(v).__setitem__("instance_count", 12),
        "online_endpoints[test-score].deployments[blue]",
        "outside autoscale",
    ),
    (
        "CPU scale-in threshold is below scale-out",
        lambda v: deployment(v).__setitem__(
            "autoscale",
            {
                "min_instances": 3,
                "max_instances": 5,
                "cpu": {"scale_out_above": 50, "scale_in_below": 60},
            },
        ),
        "deployments[blue].autoscale.cpu",
        "must be under scale_out_above",
    ),
    (
        "batch endpoints take aad_token only",
        set_(batch, "auth_mode", "key"),
        "batch_endpoints[test-batch]",
        "batch endpoints take `aad_token` only",
    ),
    (
        "online auth modes are Azure's",
        set_(online, "auth_mode", "password"),
        "online_endpoints[test-score].auth_mode",
        "'key', 'aml_token' or 'aad_token'",
    ),
    (
        "deployment names are unique within an endpoint",
        lambda v: deployment(v, 1).__setitem__("name", "blue"),
        "online_endpoints[test-score]",
        "names ['blue'] appear more than once",
    ),
    (
        "endpoint names are unique across online and batch",
        set_(batch, "name", "test-score"),
        "",
        "appear more than once",
    ),
    (
        "compute names are unique",
        lambda v: v["compute"].append({"name": "cpu-cluster"}),
        "",
        "compute: ['cpu-cluster'] appear more than once",
    ),
    (
        "identity names are unique",
        lambda v: v["identities"].append({"name": "endpoint"}),
        "",
        "identities: ['endpoint'] appear more than once",
    ),
    (
        "a deployment's endpoint_name matches its endpoint",
        lambda v: deployment(v).__setitem__("endpoint_name", "<ENDPOINT_NAME>"),
        "online_endpoints[test-score]",
        "sits under endpoint 'test-score'",
    ),
    (
        "a deployment's kind matches its endpoint",
        lambda v: deployment(v).update(type="kubernetes", autoscale=None),
        "online_endpoints[test-score]",
        "is kubernetes but endpoint 'test-score' is managed",
    ),
    (
        "managed request timeout is at most 180 s",
        lambda v: deployment(v).__setitem__("request_settings", {"request_timeout_ms": 200_000}),
        "online_endpoints[test-score]",
        "above Azure's 180000",
    ),
    (
        "managed deployments need instance_type",
        lambda v: deployment(v).pop("instance_type"),
        "online_endpoints[test-score].deployments[blue]",
        "instance_type is required",
    ),
    (
        "managed deployments scale with autoscale, not target_utilization",
        lambda v: deployment(v).__setitem__("scale_settings", {"type": "target_utilization"}),
        "deployments[blue]",
        "managed deployments take only `default`",
    ),
    (
        "liveness success_threshold is fixed at 1",
        lambda v: deployment(v).__setitem__("liveness_probe", {"success_threshold": 2}),
        "deployments[blue]",
        "fixes it at 1",
    ),
    (
        "batch default deployment names a deployment",
        set_(batch, "defaults", {"deployment_name": "ghost"}),
        "batch_endpoints[test-batch]",
        "'ghost' is not a deployment",
    ),
    (
        "batch endpoints with several deployments name a default",
        lambda v: batch(v)["deployments"].append(
            {**batch(v)["deployments"][0], "name": "classifier2"}
        ),
        "batch_endpoints[test-batch]",
        "name which of the deployments",
    ),
    (
        "batch deployments run on a cluster of the stack",
        lambda v: batch(v)["deployments"][0].__setitem__("compute", "azureml:gpu-cluster"),
        "",
        "compute 'azureml:gpu-cluster' is not a cluster of this stack",
    ),
    (
        "batch error_threshold is -1 or more",
        lambda v: batch(v)["deployments"][0].__setitem__("settings", {"error_threshold": -2}),
        "deployments[classifier].settings.error_threshold",
        "greater than or equal to -1",
    ),
    (
        "batch output_action is Azure's",
        lambda v: batch(v)["deployments"][0].__setitem__("settings", {"output_action": "append"}),
        "settings.output_action",
        "'append_row' or 'summary_only'",
    ),
    (
        "user-assigned identities name a stack identity",
        set_(
            online,
            "identity",
            {"type": "user_assigned", "user_assigned_identities": [{"name": "ghost"}]},
        ),
        "",
        "identity 'ghost' is not in `identities`",
    ),
    (
        "user-assigned identities are named by resource id, not client id",
        set_(
            online,
            "identity",
            {
                "type": "user_assigned",
                "user_assigned_identities": [{"client_id": "00000000-0000-0000-0000-000000000001"}],
            },
        ),
        "online_endpoints[test-score].identity.user_assigned_identities[0]",
        "client_id: amlkit names a user-assigned identity by `resource_id`",
    ),
    (
        "roles are granted on the scope they belong to",
        lambda v: v["identities"][0].__setitem__(
            "roles", [{"role": "AcrPull", "scope": "storage"}]
        ),
        "identities[endpoint].roles[0]",
        "belongs on ['container_registry']",
    ),
    (
        "broad roles cannot be expressed",
        lambda v: v["identities"][0].__setitem__(
            "roles", [{"role": "Owner", "scope": "workspace"}]
        ),
        "identities[endpoint].roles[0].role",
        "is not allowed",
    ),
    (
        "a protected environment is not ephemeral",
        lambda v: v["environment"].update(protect=True, ephemeral={"ttl_hours": 24}),
        "environment",
        "protect and ephemeral contradict",
    ),
    (
        "an ephemeral environment has a salt, so its re-creation gets new names",
        lambda v: v["environment"].update(ephemeral={"ttl_hours": 24}),
        "environment",
        "an ephemeral environment needs `salt`",
    ),
    (
        "the workspace names user-assigned identities by id (it exists before them)",
        lambda v: v.__setitem__(
            "workspace",
            {
                "identity": {
                    "type": "user_assigned",
                    "user_assigned_identities": [{"name": "endpoint"}],
                }
            },
        ),
        "workspace",
        "by resource_id, not by name (endpoint)",
    ),
    (
        "a subnet name needs its virtual network",
        lambda v: v["compute"][0].__setitem__("network_settings", {"subnet": "default"}),
        "compute[cpu-cluster].network_settings",
        "subnet 'default' needs vnet_name",
    ),
    (
        "a virtual network needs a subnet",
        lambda v: v["compute"][0].__setitem__("network_settings", {"vnet_name": "vnet"}),
        "compute[cpu-cluster].network_settings",
        "vnet_name needs subnet",
    ),
    (
        "one model name and version holds one content",
        lambda v: (
            deployment(v).update(model={"path": "model", "name": "clf", "version": "1"}),
            deployment(v, 1).update(model={"path": "code", "name": "clf", "version": "1"}),
        ),
        "Pulumi.test.yaml",
        "model clf:1 is registered by online endpoint 'test-score' deployment 'blue' and by "
        "online endpoint 'test-score' deployment 'green' with other content",
    ),
    (
        "one environment name and version holds one image",
        lambda v: (
            deployment(v).update(
                environment={"name": "serve", "version": "1", "image": "python:3.11-slim"}
            ),
            deployment(v, 1).update(
                environment={"name": "serve", "version": "1", "image": "python:3.12-slim"}
            ),
        ),
        "Pulumi.test.yaml",
        "environment serve:1 is registered by",
    ),
    (
        "unknown fields are refused",
        lambda v: deployment(v).__setitem__("instance_cout", 2),
        "deployments[blue].instance_cout",
        "not a known field",
    ),
    (
        "local paths exist",
        lambda v: deployment(v).__setitem__("model", {"path": "no-such-model"}),
        "deployments[blue].model.path",
        "does not exist",
    ),
    (
        "scoring script is in the code folder",
        lambda v: deployment(v).__setitem__(
            "code_configuration", {"code": "code", "scoring_script": "missing.py"}
        ),
        "deployments[blue].code_configuration",
        "'missing.py' is not in",
    ),
    (
        "model references are azureml: references",
        lambda v: deployment(v, 1).__setitem__("model", "classifier:2"),
        "deployments[green].model",
        "does not match",
    ),
    (
        "a private registry needs Premium",
        lambda v: v.__setitem__(
            "workspace", {"container_registry": {"public_network_access": "disabled"}}
        ),
        "workspace.container_registry",
        "needs sku Premium",
    ),
    (
        "alert frequency within its window",
        lambda v: v.__setitem__(
            "monitoring", {"alerts": {"window_minutes": 5, "frequency_minutes": 15}}
        ),
        "monitoring.alerts",
        "frequency_minutes (15) is above window_minutes (5)",
    ),
    (
        "secrets are not placeholders",
        lambda v: v.__setitem__(
            "monitoring",
            {"action_group": {"webhook_receivers": [{"name": "pager", "service_uri": "changeme"}]}},
        ),
        "webhook_receivers[pager].service_uri = [secret]",
        "is a placeholder",
    ),
    (
        "environment names are short and lower-case",
        lambda v: v["environment"].__setitem__("name", "Production-EU"),
        "environment.name",
        "does not match",
    ),
    (
        "Kubernetes deployments scale with scale_settings, not autoscale",
        lambda v: (
            online(v).update(compute="azureml:k8s"),
            online(v).update(traffic={}),
        ),
        "online_endpoints[test-score]",
        "Kubernetes deployments scale with scale_settings",
    ),
]


def test_base_config_is_valid(build: Build) -> None:
    spec = build(None)
    assert spec.online_endpoints[0].traffic == {"blue": 90, "green": 10}
    assert spec.batch_endpoints[0].default_deployment == "classifier"


@pytest.mark.parametrize(
    ("mutation", "path", "words"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_rule(problems: Problems, mutation: Mutation, path: str, words: str) -> None:
    lines = problems(mutation)
    matching = [line for line in lines if words in line]
    assert matching, f"no problem says {words!r}: {lines}"
    assert all(line.startswith("Pulumi.test.yaml") or "Pulumi.test.yaml" in line for line in lines)
    assert any(path in line for line in matching), f"no problem names {path!r}: {matching}"
    for line in lines:
        assert "\n" not in line and "Traceback" not in line


def test_one_asset_named_twice_with_the_same_content_is_one_registration(build: Build) -> None:
    """Sharing is fine: the rule refuses other content, not a second use."""

    def same(v: dict[str, Any]) -> None:
        for index in (0, 1):
            deployment(v, index)["model"] = {"path": "model", "name": "clf", "version": "1"}

    spec = build(same)
    uses = spec.asset_uses()
    assert uses["test-score/blue"].model == uses["test-score/green"].model
    assert uses["test-score/blue"].where == "online endpoint 'test-score' deployment 'blue'"
