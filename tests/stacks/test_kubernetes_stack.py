"""The k8s stack renders offline with its cluster, extension, compute, instance types,
endpoint and deployments, in the order Azure needs; its bodies pass Azure ML's models and
azure-native's types, its Kubernetes objects Kubernetes' schemas (kubernetes-validate) and
the InstanceType schema written from Microsoft's docs, and the pack's AKS rules."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from typer.testing import CliRunner

from amlkit.cli import app
from amlkit.components.instance_types import instance_type_manifest
from amlkit.plan.azure_check import check_plan, checked_types
from amlkit.plan.native_types import check_inputs
from amlkit.plan.policy_check import check_stack
from amlkit.specs.project import Project, find_project
from tests.conftest import ROOT, ShippedPlan
from tests.stacks.test_stacks import SNAPSHOTS, _graph

ML = "azure-native:machinelearningservices"
SCHEMA = ROOT / "tests" / "plan" / "schemas" / "instancetype.schema.json"
CRD_GROUPS = {"amlarc.azureml.com"}
"""Custom resources, which Kubernetes' own schemas do not hold."""


@pytest.fixture(scope="module")
def project() -> Project:
    return find_project(ROOT)


@pytest.fixture(scope="module")
def plan(shipped_plan: ShippedPlan) -> dict[str, Any]:
    return shipped_plan("k8s")


def _of(plan: dict[str, Any], typ: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == typ]


def _one(plan: dict[str, Any], typ: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [r for r in _of(plan, typ) if name is None or r["name"] == name]
    return found


def test_the_stack_holds_the_cluster_and_everything_on_it(plan: dict[str, Any]) -> None:
    counts = {
        typ: len(_of(plan, typ))
        for typ in (
            "amlkit:index:KubernetesCluster",
            "amlkit:index:AzureMLExtension",
            "amlkit:index:InstanceTypes",
            "amlkit:index:KubernetesCompute",
            "azure-native:containerservice:ManagedCluster",
            "azure-native:containerservice:TrustedAccessRoleBinding",
            "azure-native:kubernetesconfiguration:Extension",
            "kubernetes:core/v1:Namespace",
            "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType",
            f"{ML}:Compute",
            f"{ML}:OnlineEndpoint",
            f"{ML}:OnlineDeployment",
        )
    }
    assert counts == {
        "amlkit:index:KubernetesCluster": 1,
        "amlkit:index:AzureMLExtension": 1,
        "amlkit:index:InstanceTypes": 1,
        "amlkit:index:KubernetesCompute": 1,
        "azure-native:containerservice:ManagedCluster": 1,
        "azure-native:containerservice:TrustedAccessRoleBinding": 1,
        "azure-native:kubernetesconfiguration:Extension": 1,
        "kubernetes:core/v1:Namespace": 1,
        "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType": 2,
        f"{ML}:Compute": 1,  # the Kubernetes compute; no AmlCompute cluster in this stack
        f"{ML}:OnlineEndpoint": 1,
        f"{ML}:OnlineDeployment": 2,
    }
    urns = {r["urn"] for r in plan["resources"]}
    assert len(urns) == len(plan["resources"])
    for resource in plan["resources"]:
        assert resource["parent"] is None or resource["parent"] in urns
        assert set(resource["dependsOn"]) <= urns


def test_each_step_waits_for_what_azure_needs_first(plan: dict[str, Any]) -> None:
    cluster = _one(plan, "azure-native:containerservice:ManagedCluster")
    binding = _one(plan, "azure-native:containerservice:TrustedAccessRoleBinding")
    extension = _one(plan, "azure-native:kubernetesconfiguration:Extension")
    namespace = _one(plan, "kubernetes:core/v1:Namespace")
    kinds = _of(plan, "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType")
    compute = _one(plan, f"{ML}:Compute")
    endpoint = _one(plan, f"{ML}:OnlineEndpoint")
    workspace_roles = [
        r
        for r in _of(plan, "azure-native:authorization:RoleAssignment")
        if r["name"].startswith("compute-k8s-compute-workspace-roles-")
    ]
    assert len(workspace_roles) == 3
    assert cluster["urn"] in extension["dependsOn"]
    assert all(extension["urn"] in k["dependsOn"] for k in kinds)  # the CRD comes with it
    needed = [namespace, extension, binding, *kinds, *workspace_roles]
    assert [r["name"] for r in needed if r["urn"] not in compute["dependsOn"]] == []
    assert compute["urn"] in endpoint["dependsOn"]
    for deployment in _of(plan, f"{ML}:OnlineDeployment"):
        assert endpoint["urn"] in deployment["dependsOn"]


def test_the_endpoint_and_its_deployments_run_on_the_compute(plan: dict[str, Any]) -> None:
    compute = _one(plan, f"{ML}:Compute")
    assert compute["inputs"]["properties"]["computeType"] == "Kubernetes"
    assert compute["inputs"]["properties"]["properties"]["namespace"] == "azureml-online"
    endpoint = _one(plan, f"{ML}:OnlineEndpoint")
    assert endpoint["inputs"]["kind"] == "Kubernetes"
    assert endpoint["inputs"]["properties"]["authMode"] == "AMLToken"
    assert (
        endpoint["inputs"]["properties"]["compute"]
        == plan["outputs"]["kubernetes_computes"]["k8s-compute"]
    )
    deployments = {
        d["inputs"]["deploymentName"]: d["inputs"]["properties"]
        for d in _of(plan, f"{ML}:OnlineDeployment")
    }
    assert {n: p["instanceType"] for n, p in deployments.items()} == {
        "blue": "cpu-small",
        "green": "cpu-large",  # from stacks/k8s/green-deployment.yml
    }
    assert deployments["green"]["scaleSettings"]["targetUtilizationPercentage"] == 60
    assert deployments["blue"]["readinessProbe"]["period"] == "PT5S"
    assert deployments["blue"]["containerResourceRequirements"] == {
        "containerResourceRequests": {"cpu": "500m", "memory": "1Gi"},
        "containerResourceLimits": {"cpu": "1", "memory": "2Gi"},
    }
    traffic = _one(plan, "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic")
    assert (traffic["inputs"]["traffic"], traffic["inputs"]["mirrorTraffic"]) == (
        {"blue": 100, "green": 0},
        {},
    )


def test_the_policy_pack_passes_with_aks_rules_applied(
    project: Project, plan: dict[str, Any]
) -> None:
    report = check_stack(project, "k8s", project.load_spec("k8s"), plan)
    mandatory = [v for v in report.violations if v.level == "mandatory"]
    assert mandatory == []
    assert "aks-hardened" not in report.not_applicable  # it looked at the cluster
    assert "kubernetes-deployment-hardened" not in report.not_applicable
    assert not [v for v in report.violations if v.policy in ("aks-hardened", "iam-least-privilege")]


def test_ml_bodies_pass_azures_models(plan: dict[str, Any]) -> None:
    assert check_plan(plan) == []
    assert {f"{ML}:Compute", f"{ML}:OnlineEndpoint", f"{ML}:OnlineDeployment"} <= set(
        checked_types(plan)
    )


def test_aks_and_extension_bodies_pass_azure_natives_types(plan: dict[str, Any]) -> None:
    checked = [
        r
        for r in plan["resources"]
        if r["type"].startswith("azure-native:") and not r["type"].startswith(ML)
    ]
    assert {
        "azure-native:containerservice:ManagedCluster",
        "azure-native:containerservice:TrustedAccessRoleBinding",
        "azure-native:kubernetesconfiguration:Extension",
    } <= {r["type"] for r in checked}
    problems = {r["name"]: check_inputs(r["type"], r["inputs"]) for r in checked}
    assert {name: found for name, found in problems.items() if found} == {}


def test_kubernetes_objects_pass_kubernetes_schemas(plan: dict[str, Any]) -> None:
    objects = [r for r in plan["resources"] if r["type"].startswith("kubernetes:")]
    builtin = [r for r in objects if r["type"].split(":")[1].split("/")[0] not in CRD_GROUPS]
    assert [r["type"] for r in builtin] == ["kubernetes:core/v1:Namespace"]
    version = kubernetes_validate.latest_version()
    for resource in builtin:
        kubernetes_validate.validate(resource["inputs"], version, strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):  # the check can fail
        bad = json.loads(json.dumps(builtin[0]["inputs"]))
        bad["metadata"]["labelz"] = {}
        kubernetes_validate.validate(bad, version, strict=True)


def test_instance_types_pass_the_schema_from_microsofts_docs(
    project: Project, plan: dict[str, Any]
) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    rendered = _of(plan, "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType")
    for resource in rendered:
        assert list(validator.iter_errors(resource["inputs"])) == [], resource["name"]
    spec = project.load_spec("k8s").kubernetes
    assert spec is not None
    assert sorted((r["inputs"] for r in rendered), key=lambda o: o["metadata"]["name"]) == sorted(
        (instance_type_manifest(t) for t in spec.instance_types),
        key=lambda o: o["metadata"]["name"],
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda o: o["spec"]["resources"]["requests"].update({"nvidia.com/gpu": 1}), "unexpected"),
        (lambda o: o["spec"]["resources"]["limits"].update({"nvidia.com/gpu": "1"}), "integer"),
        (lambda o: o["spec"]["resources"]["limits"].update(cpu="0"), "does not match"),
        (lambda o: o["spec"]["resources"]["requests"].pop("memory"), "'memory' is a required"),
        (lambda o: o["spec"].update(nodeSelector={"pool": 1}), "is not of type 'string'"),
        (lambda o: o["metadata"].update(name="Big_Type"), "does not match"),
    ],
)
def test_the_instance_type_schema_refuses_what_the_docs_refuse(
    plan: dict[str, Any], change: Any, words: str
) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    obj = json.loads(
        json.dumps(_of(plan, "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType")[0]["inputs"])
    )
    change(obj)
    messages = [e.message for e in validator.iter_errors(obj)]
    assert any(words in m for m in messages), messages


def test_no_secret_in_clear(plan: dict[str, Any]) -> None:
    for provider in _of(plan, "pulumi:providers:kubernetes"):
        assert provider["inputs"]["kubeconfig"] == "[secret]"
    text = json.dumps(plan)
    assert "mock-token-opens-nothing" not in text
    assert "amlkit-offline-secret-value" not in text


def test_resource_graph_snapshot(plan: dict[str, Any]) -> None:
    """Update deliberately with AMLKIT_UPDATE_SNAPSHOTS=1 (see test_stacks.py)."""
    file = SNAPSHOTS / "k8s.graph.txt"
    graph = "\n".join(_graph(plan)) + "\n"
    if os.environ.get("AMLKIT_UPDATE_SNAPSHOTS") == "1" or not file.exists():
        file.write_text(graph)
        if os.environ.get("AMLKIT_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"wrote a new snapshot {file}; review and commit it")
    assert graph == file.read_text()


def test_cli_plan_check_azure_passes(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--stack",
            "k8s",
            "--check-azure",
            "-q",
            "--project",
            str(ROOT),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Azure ML request bodies match Azure's models" in result.output
    assert json.loads(out.read_text())["stack"] == "k8s"
