"""A stack holding pipeline-component batch deployments, rendered by the real stack
program through `amlkit plan --check-azure`: the components, code and environment
registered, the deployment after its cluster, every body passing Azure's models,
and the policy pack judging the step environments, not a missing `environmentId`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
import yaml

from tests.cli_v2 import FIXTURES
from tests.conftest import ROOT

ML = "azure-native:machinelearningservices"
STACK = {
    "amlkit:environment": {
        "name": "pipe",
        "location": "westeurope",
        "tags": {"owner": "ml-platform", "cost-center": "ml"},
    },
    "amlkit:compute": [{"name": "batch-cluster", "size": "Standard_DS3_v2"}],
    "amlkit:batch_endpoints": [
        {
            "name": "pipeline-batch",
            "defaults": {"deployment_name": "prepare-score"},
            "deployments": [
                {"file": "pipeline/deployment.yml"},
                {"file": "pipeline/deployment-registered.yml"},
            ],
        }
    ],
    # Security rules advisory, as in the dev stack: the sample's step image is a tag.
    "amlkit:policy": {"config": "../policy/config/dev.json"},
}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pipeline-stack")
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir()
    shutil.copy(ROOT / "stacks" / "__main__.py", root / "stacks" / "__main__.py")
    shutil.copytree(FIXTURES / "pipeline", root / "stacks" / "pipeline")
    (root / "policy").symlink_to(ROOT / "policy")
    (root / "runtime-image").symlink_to(ROOT / "runtime-image")
    (root / "stacks" / "Pulumi.pipe.yaml").write_text(yaml.safe_dump({"config": STACK}))
    out = root / "plan.json"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "amlkit", "plan", "--project", str(root)),
            *("--stack", "pipe", "--json", str(out), "--check-azure"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=300,
    )
    # 0: every body passes Azure's models and no mandatory rule fails.
    assert result.returncode == 0, result.stdout + result.stderr
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def _of(plan: dict[str, Any], typ: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == f"{ML}:{typ}"]


def test_the_stack_registers_the_component_and_deploys_it_after_its_cluster(
    plan: dict[str, Any],
) -> None:
    assert len(_of(plan, "ComponentVersion")) == 3  # two steps and the pipeline
    assert len(_of(plan, "CodeVersion")) == 2
    deployments = {r["inputs"]["deploymentName"]: r for r in _of(plan, "BatchDeployment")}
    assert set(deployments) == {"prepare-score", "registered"}
    local = deployments["prepare-score"]
    (cluster,) = _of(plan, "Compute")
    (pipeline,) = [
        r
        for r in _of(plan, "ComponentVersion")
        if r["inputs"]["properties"]["componentSpec"]["type"] == "pipeline"
    ]
    # The settings name the cluster; the deployment waits for it and for its component.
    assert local["inputs"]["properties"]["deploymentConfiguration"]["settings"] == {
        "default_compute": "batch-cluster",
        "default_datastore": "workspaceblobstore",
        "continue_on_step_failure": "false",
        "force_rerun": "true",
    }
    assert cluster["urn"] in local["dependsOn"]
    assert pipeline["urn"] in local["dependsOn"]
    registered = deployments["registered"]["inputs"]["properties"]["deploymentConfiguration"]
    assert registered["componentId"]["assetId"].endswith("/components/prepare_score/versions/2")


def test_policy_judges_the_step_environment_not_a_missing_environment_id(
    plan: dict[str, Any],
) -> None:
    pinned = [v for v in plan["policy"]["violations"] if v["policy"] == "image-pinned-by-digest"]
    deployments = {r["urn"] for r in _of(plan, "BatchDeployment")}
    (environment,) = [
        r
        for r in _of(plan, "EnvironmentVersion")
        if r["inputs"]["properties"]["image"].startswith("mcr.microsoft.com/azureml/")
    ]
    assert {v["urn"] for v in pinned} == {environment["urn"]}
    assert not deployments & {v["urn"] for v in plan["policy"]["violations"]}
    assert all(v["level"] == "advisory" for v in pinned)
