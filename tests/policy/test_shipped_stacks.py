"""Dev, staging and prod, as shipped, pass their own policy levels; the levels they
name are the ones in policy/config, and `amlkit plan` reports and exits accordingly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, app
from amlkit.plan.policy_check import PolicyReport, check_stack, read_pack_config
from amlkit.policy import BY_NAME
from amlkit.specs import ConfigError
from amlkit.specs.project import Project, find_project
from tests.conftest import ROOT, ShippedPlan

STACKS = ["dev", "staging", "prod"]
NOT_APPLICABLE = {"aml-deployment-delete-live-traffic", "aks-hardened"}
SECURITY = {
    "aml-workspace-public-access",
    "aml-workspace-network-isolation",
    "aml-endpoint-token-auth",
    "aml-compute-local-auth-disabled",
    "acr-admin-and-anonymous-pull-disabled",
    "iam-least-privilege",
    "key-vault-recoverable",
    "storage-no-public-or-key-access",
    "image-pinned-by-digest",
    "acr-network-restricted",
    "aks-hardened",
    "kubernetes-deployment-hardened",
}


@pytest.fixture(scope="module")
def project() -> Project:
    return find_project(ROOT)


@pytest.fixture(scope="module")
def documents(shipped_plan: ShippedPlan) -> dict[str, dict[str, Any]]:
    return {s: shipped_plan(s) for s in STACKS}


def _report(project: Project, stack: str, document: dict[str, Any]) -> PolicyReport:
    return check_stack(project, stack, project.load_spec(stack), document)


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_passes_its_own_level(
    stack: str, project: Project, documents: dict[str, dict[str, Any]]
) -> None:
    report = _report(project, stack, documents[stack])
    assert report.config == f"policy/config/{stack}.json"
    mandatory = [v for v in report.violations if v.level == "mandatory"]
    assert mandatory == [] and not report.failed
    # Not applicable, and why: no previous plan given, no AKS cluster in these stacks.
    assert set(report.not_applicable) == NOT_APPLICABLE
    assert report.not_applicable["aks-hardened"] == "no ManagedCluster resource in the plan"


def test_prod_is_clean_at_all_mandatory(
    project: Project, documents: dict[str, dict[str, Any]]
) -> None:
    report = _report(project, "prod", documents["prod"])
    assert set(report.levels.values()) == {"mandatory"}
    assert report.violations == []


def test_dev_and_staging_are_lax_only_where_their_config_says(
    project: Project, documents: dict[str, dict[str, Any]]
) -> None:
    dev = _report(project, "dev", documents["dev"])
    assert {v.policy for v in dev.violations} == {
        "aml-workspace-public-access",
        "aml-workspace-network-isolation",
        "aml-endpoint-token-auth",
        "aml-compute-cost-and-network",
        "acr-network-restricted",
        "stateful-resources-protected",
    }
    assert {v.level for v in dev.violations} == {"advisory"}
    staging = _report(project, "staging", documents["staging"])
    assert {v.policy for v in staging.violations} == {
        "aml-workspace-public-access",
        "aml-workspace-network-isolation",
        "log-analytics-retention",
        "aml-compute-cost-and-network",
        "acr-network-restricted",
        "stateful-resources-protected",
    }


def test_pack_configs_levels() -> None:
    configs = {s: read_pack_config(ROOT / "policy" / "config" / f"{s}.json") for s in STACKS}
    assert {s.level for s in configs["prod"].values()} == {EnforcementLevel.MANDATORY}
    dev = configs["dev"]
    assert {n for n in SECURITY if dev[n].level == EnforcementLevel.ADVISORY} == SECURITY
    assert dev["aml-endpoint-traffic"].level == EnforcementLevel.MANDATORY
    assert dev["aml-deployment-capacity"].config == {"minInstances": 1, "maxInstances": 4}
    # Without a config, each rule runs at its own default (the reference list's level).
    defaults = read_pack_config(None)
    assert defaults["aml-model-source"].level == EnforcementLevel.ADVISORY
    assert defaults["iam-least-privilege"].level == EnforcementLevel.MANDATORY


def test_bad_pack_config_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "levels.json"
    path.write_text(
        json.dumps(
            {
                "all": "strict",
                "no-such-rule": "advisory",
                "log-analytics-retention": {"minimumRetentionDay": 90},
            }
        )
    )
    with pytest.raises(ConfigError) as caught:
        read_pack_config(path)
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == 3
    assert (
        "all: level 'strict' is unknown; allowed: advisory, mandatory, remediate, disabled"
        in lines[0]
    )
    assert "no-such-rule: is not a rule of the pack" in lines[1]
    assert (
        "log-analytics-retention.minimumRetentionDay: is not a setting of this rule; "
        "settings: minimumRetentionDays"
    ) in lines[2]


def test_cli_reports_and_passes_prod(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(
        app, ["plan", "--stack", "prod", "--project", str(ROOT), "--json", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Policy (policy/config/prod.json): passed, 0 mandatory and 0 advisory" in text
    policy = json.loads(out.read_text())["policy"]
    assert policy["violations"] == []
    assert set(policy["levels"]) == set(BY_NAME)


def test_cli_missing_previous_plan_is_refused_before_rendering() -> None:
    result = CliRunner().invoke(
        app,
        ["plan", "--stack", "dev", "--project", str(ROOT), "--previous", "/nonexistent.json"],
    )
    assert result.exit_code == EXIT_BAD_CONFIG
    text = " ".join(result.output.replace("│", " ").split())
    # click writes "file" or "File" depending on its version.
    assert re.search(
        r"Invalid value for '--previous': [Ff]ile '/nonexistent\.json' does not exist\.", text
    )
    assert "resources in" not in text  # nothing was rendered
