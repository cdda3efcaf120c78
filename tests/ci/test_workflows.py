"""The CI workflows: valid for GitHub's workflow schema (check-jsonschema's vendored copy),
zero findings from zizmor's offline audits, actions pinned by full commit hash, and
deploys that never cancel one another; and `amlkit ci subjects`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, app
from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
runner = CliRunner()


def test_every_workflow_matches_githubs_schema() -> None:
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(WORKFLOWS) == 4


def test_zizmor_offline_finds_nothing() -> None:
    """Every audit, informational ones included (the auditor persona suppresses nothing)."""
    result = subprocess.run(
        [
            BIN / "zizmor",
            "--offline",
            "--persona",
            "auditor",
            "--format",
            "plain",
            ROOT / ".github" / "workflows",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr
    assert "suppressed" not in result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_pinned_and_permissions_least(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert doc["permissions"] == {}
    for job in doc["jobs"].values():
        assert "write-all" not in str(job.get("permissions"))
        for step in job.get("steps", []):
            if "uses" in step:
                assert re.match(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$", step["uses"]), step["uses"]


def test_deploys_run_in_order_in_their_environments_and_never_cancel() -> None:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    assert doc["concurrency"]["cancel-in-progress"] is False
    jobs = doc["jobs"]
    assert [jobs[s]["environment"] for s in ("dev", "staging", "prod")] == [
        "dev",
        "staging",
        "prod",
    ]
    assert (jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("dev", "staging")
    assert all(jobs[s]["permissions"] == {"contents": "read", "id-token": "write"} for s in jobs)


def test_ci_subjects() -> None:
    result = runner.invoke(
        app, ["ci", "subjects", "--repo", "contoso/ml", "--environments", "dev,prod"]
    )
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "repo:contoso/ml:environment:dev",
        "repo:contoso/ml:environment:prod",
        "repo:contoso/ml:pull_request",
    ]
    bad = runner.invoke(app, ["ci", "subjects", "--repo", "contoso"])
    assert bad.exit_code == EXIT_BAD_CONFIG and "OWNER/REPO" in bad.output
