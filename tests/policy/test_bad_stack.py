"""A deliberately bad stack (bad/Pulumi.bad.yaml) is caught rule by rule: 100% recall.

18 rules are broken by the stack config itself and caught by `amlkit plan`; the
others cannot be broken from a stack config, either because the specs refuse the
config (shown here too) or because the components hard-code the safe value, so the
test alters the rendered plan, as a hand-edited program would.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from amlkit.cli import EXIT_CHECK_FAILED, app
from amlkit.plan.policy_check import check_plan
from amlkit.policy import BY_NAME
from amlkit.specs import ConfigError, build_stack_spec
from amlkit.specs.stack_config import amlkit_values
from tests.conftest import ROOT

BAD = Path(__file__).with_name("bad") / "Pulumi.bad.yaml"
PROD = ROOT / "policy" / "config" / "prod.json"

CAUGHT_BY_CONFIG = {
    "aml-deployment-delete-live-traffic",
    "aml-workspace-public-access",
    "aml-workspace-network-isolation",
    "aml-endpoint-token-auth",
    "iam-least-privilege",
    "storage-no-public-or-key-access",
    "image-pinned-by-digest",
    "aml-deployment-capacity",
    "monitoring-wired",
    "log-analytics-retention",
    "aml-compute-cost-and-network",
    "acr-network-restricted",
    "stateful-resources-protected",
    "secrets-not-plaintext",
    "kubernetes-deployment-hardened",
    "aml-model-source",
    "governance-location-tags-identity",
    "aml-endpoint-safe-rollout",
}
CAUGHT_BY_ALTERED_PLAN = {
    "aml-endpoint-traffic",  # the specs refuse bad splits (see below)
    "aml-endpoint-mirror-traffic",  # likewise
    "aml-names",  # likewise
    "aml-compute-local-auth-disabled",  # ComputeCluster always sets it
    "acr-admin-and-anonymous-pull-disabled",  # Workspace always turns both off
    "key-vault-recoverable",  # Workspace always sets all three
    "aml-deployment-probes",  # probes always sent; the specs cap the timeout
    "aks-hardened",  # no stack config creates an AKS cluster
}


def test_every_rule_is_broken_once() -> None:
    assert CAUGHT_BY_CONFIG.isdisjoint(CAUGHT_BY_ALTERED_PLAN)
    assert set(BY_NAME) == CAUGHT_BY_CONFIG | CAUGHT_BY_ALTERED_PLAN
    assert len(BY_NAME) == 26


@pytest.fixture(scope="module")
def bad_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with the bad stack next to the stack program, as a team would add it."""
    root = tmp_path_factory.mktemp("bad-project")
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir()
    shutil.copy(ROOT / "stacks" / "__main__.py", root / "stacks" / "__main__.py")
    shutil.copy(BAD, root / "stacks" / "Pulumi.bad.yaml")
    (root / "runtime-image").symlink_to(ROOT / "runtime-image")
    (root / "policy").symlink_to(ROOT / "policy")
    return root


@pytest.fixture(scope="module")
def previous_plan(bad_project: Path) -> Path:
    """The deployed state: `blue` of bad-score serves all live traffic."""
    path = bad_project / "deployed.json"
    path.write_text(
        json.dumps(
            {
                "stack": "bad",
                "resources": [
                    {
                        "type": "azure-native:machinelearningservices:OnlineDeployment",
                        "urn": "urn:blue",
                        "name": "online-bad-score-blue",
                        "inputs": {"endpointName": "bad-score", "deploymentName": "blue"},
                    },
                    {
                        "type": "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic",
                        "urn": "urn:traffic",
                        "name": "online-bad-score-traffic",
                        "inputs": {"endpointName": "bad-score", "traffic": {"blue": 100}},
                    },
                ],
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def cli_run(bad_project: Path, previous_plan: Path) -> tuple[int, str, dict[str, Any]]:
    out = bad_project / "plan.json"
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--stack",
            "bad",
            "--project",
            str(bad_project),
            "--previous",
            str(previous_plan),
            "--json",
            str(out),
            "-q",
        ],
    )
    return result.exit_code, result.output, json.loads(out.read_text())


def _mandatory(violations: list[dict[str, Any]]) -> set[str]:
    return {v["policy"] for v in violations if v["level"] == "mandatory"}


def test_cli_fails_the_bad_stack(cli_run: tuple[int, str, dict[str, Any]]) -> None:
    code, output, document = cli_run
    assert code == EXIT_CHECK_FAILED, output
    assert "FAILED" in output and "Traceback" not in output
    assert document["policy"]["config"] == "policy/config/prod.json"
    # Each violation names its resource and carries the fix.
    auth = [v for v in document["policy"]["violations"] if v["policy"] == "aml-endpoint-token-auth"]
    assert auth == [
        {
            "policy": "aml-endpoint-token-auth",
            "level": "mandatory",
            "urn": auth[0]["urn"],
            "message": "properties.authMode is 'Key'; keys never expire (allowed: AMLToken, AADToken)",
            "fix": BY_NAME["aml-endpoint-token-auth"].fix,
        }
    ]
    assert auth[0]["urn"].endswith("::online-bad-score")


@pytest.mark.parametrize("name", sorted(CAUGHT_BY_CONFIG))
def test_caught_from_the_stack_config(name: str, cli_run: tuple[int, str, dict[str, Any]]) -> None:
    _, _, document = cli_run
    assert name in _mandatory(document["policy"]["violations"])


def test_delete_with_live_traffic_names_the_deployment(
    cli_run: tuple[int, str, dict[str, Any]],
) -> None:
    _, _, document = cli_run
    found = [
        v["message"]
        for v in document["policy"]["violations"]
        if v["policy"] == "aml-deployment-delete-live-traffic"
    ]
    assert found == ["bad-score/blue is removed while it serves 100% of live traffic"]


def _altered(document: dict[str, Any]) -> dict[str, Any]:
    """The bad plan as a hand-edited program could produce it."""
    plan = copy.deepcopy(document)

    def one(name: str) -> dict[str, Any]:
        # A component and its main child share a name; the child is the Azure resource.
        (found,) = [
            r
            for r in plan["resources"]
            if r["name"] == name and not r["type"].startswith("amlkit:index:")
        ]
        return found["inputs"]  # type: ignore[no-any-return]

    one("online-bad-score-traffic").update(traffic={"green": 90}, mirrorTraffic={"green": 60})
    one("online-bad-kubernetes-blue")["deploymentName"] = "blue_1"
    one("compute-cpu-cluster")["properties"]["disableLocalAuth"] = False
    one("workspace-registry")["adminUserEnabled"] = True
    one("workspace-key-vault")["properties"]["enablePurgeProtection"] = False
    green = one("online-bad-score-green")["properties"]
    green["requestSettings"]["requestTimeout"] = "PT200S"
    plan["resources"].append(
        {
            "urn": "urn:pulumi:bad::amlkit::azure-native:containerservice:ManagedCluster::aks",
            "type": "azure-native:containerservice:ManagedCluster",
            "name": "aks",
            "parent": None,
            "protect": False,
            "dependsOn": [],
            "inputs": {"enableRBAC": False, "identity": {"type": "SystemAssigned"}},
        }
    )
    return plan


@pytest.mark.parametrize("name", sorted(CAUGHT_BY_ALTERED_PLAN))
def test_caught_in_an_altered_plan(name: str, cli_run: tuple[int, str, dict[str, Any]]) -> None:
    _, _, document = cli_run
    assert name not in _mandatory(document["policy"]["violations"])  # not broken before
    report = check_plan(_altered(document), pack_config=PROD)
    assert name in {v.policy for v in report.violations if v.level == "mandatory"}


def _spec_problems(edit: Any) -> list[str]:
    doc = yaml.safe_load(BAD.read_text())
    edit(doc["config"])
    source = ROOT / "stacks" / "Pulumi.bad.yaml"  # paths as if it sat next to the others
    with pytest.raises(ConfigError) as caught:
        build_stack_spec(amlkit_values(doc["config"]), source=source)
    return [str(p) for p in caught.value.problems]


def _score(config: dict[str, Any]) -> dict[str, Any]:
    return config["amlkit:online_endpoints"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("rule", "edit", "expected"),
    [
        pytest.param(
            "aml-endpoint-traffic",
            lambda c: _score(c).update(traffic={"green": 90}),
            "traffic sums to 90; Azure takes 0 or 100",
            id="traffic",
        ),
        pytest.param(
            "aml-endpoint-mirror-traffic",
            lambda c: _score(c).update(mirror_traffic={"green": 20}),
            "'green' has live traffic (100%); a deployment gets live or mirrored traffic, not both",
            id="mirror",
        ),
        pytest.param(
            "aml-names",
            lambda c: _score(c).update(name="9-bad"),
            "online_endpoints[9-bad].name = '9-bad': does not match",
            id="names",
        ),
        pytest.param(
            "iam-least-privilege",
            lambda c: c["amlkit:identities"][0]["roles"].append(
                {"role": "Owner", "scope": "storage"}
            ),
            "roles[1].role = 'Owner': is not allowed",
            id="owner",
        ),
        pytest.param(
            "aml-deployment-probes",
            lambda c: _score(c)["deployments"][0].update(
                request_settings={"request_timeout_ms": 200000}
            ),
            "request_timeout_ms (200000) is above Azure's 180000",
            id="timeout",
        ),
    ],
)
def test_specs_refuse_before_any_rule_runs(rule: str, edit: Any, expected: str) -> None:
    """What the specs refuse never reaches a plan: `amlkit plan` exits 2 instead."""
    assert rule in BY_NAME
    problems = _spec_problems(edit)
    assert any(expected in p for p in problems), problems
