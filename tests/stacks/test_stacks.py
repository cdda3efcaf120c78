"""Every shipped stack renders under the mock engine, holds every component, and
differs from the others in the data its config says, and nothing else."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from amlkit.specs.project import Project, find_project
from tests.conftest import ROOT, ShippedPlan

SNAPSHOTS = Path(__file__).with_name("snapshots")
STACKS = ["dev", "staging", "prod"]
ML = "azure-native:machinelearningservices"


@pytest.fixture(scope="module")
def project() -> Project:
    return find_project(ROOT)


@pytest.fixture(scope="module")
def plans(shipped_plan: ShippedPlan) -> dict[str, dict[str, Any]]:
    return {stack: shipped_plan(stack) for stack in STACKS}


def _of(plan: dict[str, Any], typ: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == typ]


def _one(plan: dict[str, Any], typ: str) -> dict[str, Any]:
    (found,) = _of(plan, typ)
    return found


COMPONENTS = [
    "amlkit:index:ResourceGroup",
    "amlkit:index:Workspace",
    "amlkit:index:ScoringImage",
    "amlkit:index:ComputeCluster",
    "amlkit:index:OnlineEndpoint",
    "amlkit:index:OnlineDeployment",
    "amlkit:index:BatchEndpoint",
    "amlkit:index:Monitoring",
    "amlkit:index:AssetCatalog",
    "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic",
    "pulumi-python:dynamic/amlkit:BatchEndpointDefault",
]
AZURE = [
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
    "azure-native:operationalinsights:Workspace",
    "azure-native:applicationinsights:Component",
    f"{ML}:Workspace",
    f"{ML}:Compute",
    f"{ML}:OnlineEndpoint",
    f"{ML}:OnlineDeployment",
    f"{ML}:BatchEndpoint",
    f"{ML}:BatchDeployment",
    f"{ML}:ModelVersion",
    f"{ML}:CodeVersion",
    f"{ML}:EnvironmentVersion",
    "azure-native:authorization:RoleAssignment",
    "azure-native:monitor:DiagnosticSetting",
    "azure-native:monitor:MetricAlert",
    "azure-native:monitor:ActionGroup",
    "docker-build:index:Image",
]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_holds_every_component(plans: dict[str, dict[str, Any]], stack: str) -> None:
    types = Counter(r["type"] for r in plans[stack]["resources"])
    missing = [t for t in COMPONENTS + AZURE if types[t] == 0]
    assert missing == [], f"{stack} lacks {missing}"
    # dev uses the endpoint's system-assigned identity; staging and prod their own.
    assert types["amlkit:index:ManagedIdentity"] == {"dev": 0, "staging": 1, "prod": 2}[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_every_parent_and_dependency_is_a_resource_of_the_plan(
    plans: dict[str, dict[str, Any]], stack: str
) -> None:
    urns = {r["urn"] for r in plans[stack]["resources"]}
    for resource in plans[stack]["resources"]:
        assert resource["parent"] is None or resource["parent"] in urns, resource["urn"]
        assert set(resource["dependsOn"]) <= urns, resource["urn"]
    assert len(urns) == len(plans[stack]["resources"]), "URNs must be unique"


def test_auth_modes_follow_the_environment(plans: dict[str, dict[str, Any]]) -> None:
    modes = {
        s: _one(plans[s], f"{ML}:OnlineEndpoint")["inputs"]["properties"]["authMode"]
        for s in STACKS
    }
    assert modes == {"dev": "Key", "staging": "AMLToken", "prod": "AADToken"}
    for stack in STACKS:
        assert (
            _one(plans[stack], f"{ML}:BatchEndpoint")["inputs"]["properties"]["authMode"]
            == "AADToken"
        )


def test_every_batch_endpoint_gets_its_default_written_after_its_deployment(
    plans: dict[str, dict[str, Any]],
) -> None:
    for stack in STACKS:
        endpoint = _one(plans[stack], f"{ML}:BatchEndpoint")
        assert "defaults" not in endpoint["inputs"]["properties"]  # nothing live offline
        written = _one(plans[stack], "pulumi-python:dynamic/amlkit:BatchEndpointDefault")
        assert written["name"] == f"batch-amlkit-{stack}-batch-default"
        assert written["inputs"]["endpointName"] == f"amlkit-{stack}-batch"
        assert written["inputs"]["deploymentName"] == "classifier"
        deployment = _one(plans[stack], f"{ML}:BatchDeployment")
        assert deployment["urn"] in written["dependsOn"]


def test_instance_counts_and_autoscale(plans: dict[str, dict[str, Any]]) -> None:
    def capacities(stack: str) -> list[int]:
        return sorted(
            d["inputs"]["sku"]["capacity"] for d in _of(plans[stack], f"{ML}:OnlineDeployment")
        )

    assert capacities("dev") == [1]
    assert capacities("staging") == [2, 2]
    assert capacities("prod") == [3]
    assert _of(plans["dev"], "azure-native:monitor:AutoscaleSetting") == []
    (autoscale,) = _of(plans["prod"], "azure-native:monitor:AutoscaleSetting")
    capacity = autoscale["inputs"]["profiles"][0]["capacity"]
    assert (capacity["minimum"], capacity["maximum"], capacity["default"]) == ("3", "10", "3")


def test_prod_is_private_protected_and_kept_longer(plans: dict[str, dict[str, Any]]) -> None:
    prod, dev = plans["prod"], plans["dev"]
    assert (
        _one(prod, f"{ML}:OnlineEndpoint")["inputs"]["properties"]["publicNetworkAccess"]
        == "Disabled"
    )
    assert _one(prod, f"{ML}:Workspace")["inputs"]["publicNetworkAccess"] == "Disabled"
    assert (
        _one(dev, f"{ML}:OnlineEndpoint")["inputs"]["properties"]["publicNetworkAccess"]
        == "Enabled"
    )
    stateful = [
        f"{ML}:Workspace",
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:containerregistry:Registry",
        "azure-native:operationalinsights:Workspace",
    ]
    assert all(_one(prod, t)["protect"] for t in stateful)
    assert not any(_one(dev, t)["protect"] for t in stateful)
    assert (
        _one(prod, "azure-native:operationalinsights:Workspace")["inputs"]["retentionInDays"] == 90
    )
    receivers = _one(prod, "azure-native:monitor:ActionGroup")["inputs"]["emailReceivers"]
    assert [r["emailAddress"] for r in receivers] == ["ml-platform-oncall@example.com"]


def test_dev_cluster_is_low_priority_from_zero(plans: dict[str, dict[str, Any]]) -> None:
    props = _one(plans["dev"], f"{ML}:Compute")["inputs"]["properties"]["properties"]
    assert props["vmPriority"] == "LowPriority"
    assert props["scaleSettings"]["minNodeCount"] == 0


def test_staging_carries_the_mirror_to_the_traffic_resource(
    plans: dict[str, dict[str, Any]],
) -> None:
    endpoint = _one(plans["staging"], f"{ML}:OnlineEndpoint")
    assert "traffic" not in endpoint["inputs"]["properties"], "traffic is never sent at creation"
    traffic = _one(plans["staging"], "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic")
    assert traffic["name"] == "online-amlkit-staging-score-traffic"
    split = traffic["inputs"]
    assert (split["traffic"], split["mirrorTraffic"]) == ({"blue": 100, "green": 0}, {"green": 20})
    assert "__provider" not in split
    assert plans["staging"]["outputs"]["online_traffic"]["amlkit-staging-score"] == {
        "traffic": {"blue": 100, "green": 0},
        "mirror_traffic": {"green": 20},
        "applied": False,  # offline: nothing written
    }


def test_staging_declares_its_rollout_to_policy_and_the_plan(
    plans: dict[str, dict[str, Any]],
) -> None:
    traffic = _one(plans["staging"], "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic")
    assert traffic["inputs"]["rollout"] == {
        "candidate": "green",
        "baseline": "blue",
        "strategy": "canary",
        "gates": ["error_rate", "latency_p95"],
        "onFailure": "rollback",
    }
    (rollout,) = plans["staging"]["rollouts"]
    assert {k: v for k, v in rollout.items() if k != "section"} == {
        "endpoint": "amlkit-staging-score",
        "candidate": "green",
        "baseline": "blue",
        "steps": [10, 50, 100],
        # 10 min shadow + 3 bakes of 10 min + 4 windows of 3 min metrics lag
        "minimum_to_promote": "PT52M",
        # one bake and the lag: the longest a failing green keeps its share
        "time_to_roll_back": "PT13M",
    }
    assert rollout["section"]["bake"] == "PT10M"
    assert plans["dev"]["rollouts"] == []  # no section, nothing planned
    dev_traffic = _one(plans["dev"], "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic")
    assert "rollout" not in dev_traffic["inputs"]


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_in_clear_and_json_round_trips(
    plans: dict[str, dict[str, Any]], stack: str
) -> None:
    text = json.dumps(plans[stack])
    assert "amlkit-offline-secret-value" not in text
    assert json.loads(text) == plans[stack]


def _graph(plan: dict[str, Any]) -> list[str]:
    """Type, name and parent of each resource, and what it depends on: the shape of the stack.
    Content hashes in asset names (they follow the sample model's bytes) read `<hash>`."""
    names = {
        r["urn"]: re.sub(r"-[0-9a-f]{12}\b|-[0-9a-f]{8}$", "-<hash>", f"{r['type']}::{r['name']}")
        for r in plan["resources"]
    }
    lines = []
    for r in plan["resources"]:
        parent = names.get(r["parent"], "-") if r["parent"] else "-"
        deps = ",".join(sorted(names[d] for d in r["dependsOn"]))
        lines.append(f"{names[r['urn']]} <- {parent}" + (f" [{deps}]" if deps else ""))
    return sorted(lines)


@pytest.mark.parametrize("stack", STACKS)
def test_resource_graph_snapshot(plans: dict[str, dict[str, Any]], stack: str) -> None:
    """A change to the graph (a renamed resource is a replaced resource) shows up here.
    Update deliberately with AMLKIT_UPDATE_SNAPSHOTS=1."""
    file = SNAPSHOTS / f"{stack}.graph.txt"
    graph = "\n".join(_graph(plans[stack])) + "\n"
    if os.environ.get("AMLKIT_UPDATE_SNAPSHOTS") == "1" or not file.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        file.write_text(graph)
        if os.environ.get("AMLKIT_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"wrote a new snapshot {file}; review and commit it")
    assert graph == file.read_text()
