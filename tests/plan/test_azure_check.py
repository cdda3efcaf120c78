"""Every Azure ML resource of the shipped stacks passes Azure's models; planted faults
in a plan are caught, by the check and by `amlkit plan --check-azure`."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import amlkit.cli.plan as plan_command
from amlkit.cli import EXIT_CHECK_FAILED, app
from amlkit.plan import render as plan_module
from amlkit.plan.azure_check import Finding, check_plan, checked_types
from tests.conftest import ROOT, ShippedPlan

STACKS = ["dev", "staging", "prod"]
ML = "azure-native:machinelearningservices"
runner = CliRunner()


@pytest.fixture(scope="module")
def plans(shipped_plan: ShippedPlan) -> dict[str, dict[str, Any]]:
    return {stack: shipped_plan(stack) for stack in STACKS}


def _resource(plan: dict[str, Any], kind: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [r for r in plan["resources"] if r["type"] == f"{ML}:{kind}"]
    (one,) = found
    return one


@pytest.mark.parametrize("stack", STACKS)
def test_every_ml_resource_of_the_stack_passes(
    plans: dict[str, dict[str, Any]], stack: str
) -> None:
    plan = plans[stack]
    kinds = Counter(t.rsplit(":", 1)[-1] for t in checked_types(plan))
    # the check covers every kind of ML resource the stack holds
    assert {
        "Workspace",
        "Compute",
        "Datastore",
        "OnlineEndpoint",
        "OnlineDeployment",
        "BatchEndpoint",
        "BatchDeployment",
        "CodeVersion",
        "ModelVersion",
        "EnvironmentVersion",
    } <= set(kinds)
    assert kinds == Counter(
        r["type"].rsplit(":", 1)[-1] for r in plan["resources"] if r["type"].startswith(ML)
    )
    assert check_plan(plan) == []


def _plant(plan: dict[str, Any]) -> dict[str, Any]:
    """Six faults of the kinds that reach Azure, in prod's plan."""
    planted = copy.deepcopy(plan)
    deployment = _resource(planted, "OnlineDeployment")["inputs"]
    settings = deployment["properties"]["requestSettings"]
    settings["requestTimeOut"] = settings.pop("requestTimeout")  # misspelled
    deployment["properties"]["livenessProbe"]["period"] = "10000"  # milliseconds, not ISO-8601
    deployment["properties"]["provisioningState"] = "Succeeded"  # read-only
    deployment["sku"]["capacity"] = "3"  # a string where Azure wants an integer
    endpoint = _resource(planted, "OnlineEndpoint")["inputs"]
    endpoint["properties"]["authMode"] = "EntraToken"  # no such enum value
    batch = _resource(planted, "BatchDeployment")["inputs"]
    del batch["properties"]["codeConfiguration"]["scoringScript"]  # required
    return planted


def _found(findings: list[Finding]) -> set[tuple[str, str, str, Any]]:
    return {(f.name, f.problem.kind, f.problem.path, f.problem.value) for f in findings}


def test_planted_faults_are_caught(plans: dict[str, dict[str, Any]]) -> None:
    findings = check_plan(_plant(plans["prod"]))
    deployment = "online-amlkit-prod-score-blue"
    assert _found(findings) == {
        (
            deployment,
            "unknown-property",
            "properties.requestSettings.requestTimeOut",
            "requestTimeOut",
        ),
        (deployment, "bad-duration", "properties.livenessProbe.period", "10000"),
        (deployment, "read-only", "properties.provisioningState", "Succeeded"),
        (deployment, "wrong-type", "sku.capacity", "3"),
        ("online-amlkit-prod-score", "unknown-enum", "properties.authMode", "EntraToken"),
        (
            "batch-amlkit-prod-batch-classifier",
            "missing-required",
            "properties.codeConfiguration.scoringScript",
            None,
        ),
    }
    by_path = {f.problem.path: f for f in findings}
    assert by_path["properties.authMode"].urn.endswith("::online-amlkit-prod-score")
    assert "'AADToken'" in by_path["properties.authMode"].problem.allowed
    assert "'requestTimeout' (did you mean it?)" in (
        by_path["properties.requestSettings.requestTimeOut"].problem.allowed
    )


def test_cli_check_azure_passes_on_prod() -> None:
    result = runner.invoke(
        app, ["plan", "--stack", "prod", "--check-azure", "-q", "--project", str(ROOT)]
    )
    assert result.exit_code == 0, result.output
    assert "ok 12 Azure ML request bodies match Azure's models" in result.output


def test_cli_check_azure_reports_and_exits_1(
    plans: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan the CLI renders gets the planted faults (the render itself is real)."""
    real = plan_module.plan_document

    def planted(*args: Any) -> dict[str, Any]:
        return _plant(real(*args))

    monkeypatch.setattr(plan_module, "plan_document", planted)
    monkeypatch.setattr(plan_command, "out", Console(width=300))  # rows on one line each
    result = runner.invoke(
        app, ["plan", "--stack", "prod", "--check-azure", "-q", "--project", str(ROOT)]
    )
    assert result.exit_code == EXIT_CHECK_FAILED, result.output
    for text in [
        "properties.requestSettings.requestTimeOut",
        "properties.livenessProbe.period",
        "'EntraToken'",
        "read-only",
        "missing-required",
        "3 of 12 Azure ML resources",
    ]:
        assert text in result.output
