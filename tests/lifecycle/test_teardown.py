"""`amlkit teardown` through the Automation API, against the stand-in `pulumi` (which
enforces protection, locks and `stack rm`'s refusal) and the Azure endpoint stand-in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, EXIT_CHECK_FAILED, app
from amlkit.components.dynamic.arm_client import ArmClient
from amlkit.lifecycle.azure_cleanup import Azure
from amlkit.lifecycle.pr_environment import CreateRequest, create_pr_environment
from amlkit.lifecycle.pulumi_cli import workspace
from amlkit.lifecycle.teardown import TeardownOptions, teardown
from amlkit.specs.project import find_project
from tests.azure_standin import Standin, standin_credential
from tests.lifecycle.conftest import Backend

runner = CliRunner()
WS = "/subscriptions/0/resourceGroups/rg-amlkit-pr7/providers/Microsoft.MachineLearningServices/workspaces/mlw"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
FAST = {"lock_attempts": 3, "lock_wait_s": 0.0}


def _resource(logical: str, typ: str, *, protect: bool = False, **outputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:pr-7::amlkit::{typ}::{logical}",
        "custom": True,
        "type": typ,
        "id": outputs.pop("id", f"/ids/{logical}"),
        "protect": protect,
        "outputs": outputs,
    }


def _pr_stack(project: Path, pr: int = 7, hours: int = 48, now: datetime = NOW) -> str:
    created = create_pr_environment(
        find_project(project), CreateRequest("dev", pr, hours, now, salt="abc123")
    )
    return created.stack


def _state(endpoint: str = "score") -> list[dict[str, Any]]:
    return [
        _resource("workspace", "azure-native:machinelearningservices:Workspace", id=WS, name="mlw"),
        _resource(
            f"online-{endpoint}-traffic",
            "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic",
            id=f"{WS}/onlineEndpoints/{endpoint}",
            workspaceId=WS,
            endpointName=endpoint,
            traffic={"blue": 100},
            mirrorTraffic={},
        ),
    ]


def _options(standin: Standin | None = None, **extra: Any) -> TeardownOptions:
    azure = (
        Azure(standin.base_url, standin_credential) if standin else Azure("https://unused.invalid")
    )
    return TeardownOptions(azure=azure, **{**FAST, **extra})


def _live_endpoint(standin: Standin, name: str = "score") -> ArmClient:
    arm = ArmClient(standin_credential(), standin.base_url)
    endpoint = f"{WS}/onlineEndpoints/{name}"
    body = {"location": "westeurope", "kind": "Managed", "identity": {"type": "SystemAssigned"}}
    arm.put(endpoint, {**body, "properties": {"authMode": "Key"}})
    arm.put(
        f"{endpoint}/deployments/blue",
        {"location": "westeurope", "properties": {"endpointComputeType": "Managed"}},
    )
    arm.put(endpoint, {**body, "properties": {"authMode": "Key", "traffic": {"blue": 100}}})
    return arm


def test_tears_down_a_pr_environment_traffic_first(
    project: Path, backend: Backend, standin: Standin
) -> None:
    stack = _pr_stack(project)
    backend.seed(stack, _state())
    arm = _live_endpoint(standin)
    outcome = teardown(
        workspace(find_project(project)), find_project(project), stack, _options(standin)
    )
    assert (outcome.status, outcome.ok) == ("destroyed", True), outcome.line()
    # Traffic went to zero in Azure before the destroy, through the provider's own delete.
    held = arm.get(f"{WS}/onlineEndpoints/score")
    assert held is not None and held["properties"]["traffic"] == {"blue": 0}
    assert "traffic of score set to 0" in outcome.steps
    commands = [c for c in backend.calls() if c[:1] in (["destroy"], ["stack"])]
    verbs = [" ".join(c[:2]) for c in commands]
    assert verbs.index("destroy --skip-preview") < verbs.index("stack rm")
    assert not any("--force" in c for c in backend.calls())
    assert not backend.exists(stack)
    assert not (project / "stacks" / f"Pulumi.{stack}.yaml").exists()  # stack rm removed it


def test_a_second_teardown_finds_it_gone(project: Path, backend: Backend) -> None:
    stack = _pr_stack(project)
    backend.seed(stack, [])
    proj = find_project(project)
    assert teardown(workspace(proj), proj, stack, _options()).status == "destroyed"
    again = teardown(workspace(proj), proj, stack, _options())
    assert (again.status, again.ok) == ("already gone", True)


def test_a_leftover_file_of_a_stack_never_deployed_is_removed(
    project: Path, backend: Backend
) -> None:
    stack = _pr_stack(project)
    proj = find_project(project)
    outcome = teardown(workspace(proj), proj, stack, _options())
    assert outcome.status == "already gone" and "removed Pulumi.pr-7.yaml" in outcome.detail
    assert not (project / "stacks" / "Pulumi.pr-7.yaml").exists()


def test_refuses_a_lasting_stack(project: Path, backend: Backend) -> None:
    backend.seed("dev", [_resource("ws", "azure-native:machinelearningservices:Workspace")])
    proj = find_project(project)
    outcome = teardown(workspace(proj), proj, "dev", _options())
    assert outcome.status == "refused" and "--allow-permanent" in outcome.detail
    assert backend.exists("dev")
    assert not any(c[:1] == ["destroy"] for c in backend.calls())
    # Even when the backend has no such stack, a lasting stack's file stays.
    gone = teardown(workspace(proj), proj, "staging", _options())
    assert gone.status == "refused" and (project / "stacks" / "Pulumi.staging.yaml").exists()


def test_a_stack_tagged_ephemeral_without_its_file_is_torn_down(
    project: Path, backend: Backend
) -> None:
    backend.seed("pr-9", [], tags={"amlkit:ephemeral": "true"})
    backend.seed("pr-10", [])
    proj = find_project(project)
    assert teardown(workspace(proj), proj, "pr-9", _options()).status == "destroyed"
    assert teardown(workspace(proj), proj, "pr-10", _options()).status == "refused"


def test_protected_resources_refuse_unless_ignore_protect(project: Path, backend: Backend) -> None:
    backend.seed("dev", [_resource("vault", "azure-native:keyvault:Vault", protect=True)])
    proj = find_project(project)
    refused = teardown(workspace(proj), proj, "dev", _options(allow_permanent=True))
    assert refused.status == "refused" and "1 protected resources (vault)" in refused.detail
    done = teardown(
        workspace(proj), proj, "dev", _options(allow_permanent=True, ignore_protect=True)
    )
    assert done.status == "destroyed", done.line()
    ran = [" ".join(c) for c in backend.calls()]
    assert any(c.startswith("state unprotect --yes --all") for c in ran)
    assert not any("--force" in c for c in ran)


def test_the_stand_in_refuses_to_destroy_a_protected_resource(
    project: Path, backend: Backend
) -> None:
    """What makes --ignore-protect necessary: the CLI itself refuses."""
    from pulumi.automation import CommandError, Stack

    backend.seed("dev", [_resource("vault", "azure-native:keyvault:Vault", protect=True)])
    handle = Stack.select("dev", workspace(find_project(project)))
    with pytest.raises(CommandError, match="currently marked for protection"):
        handle.destroy()


def test_waits_on_a_lock_then_goes_on(project: Path, backend: Backend) -> None:
    stack = _pr_stack(project)
    backend.seed(stack, [])
    backend.lock(stack, refusals=2)
    proj = find_project(project)
    outcome = teardown(workspace(proj), proj, stack, _options(lock_attempts=5))
    assert outcome.status == "destroyed", outcome.line()
    exports = [c for c in backend.calls() if c[:2] == ["stack", "export"]]
    assert len(exports) == 3  # two refused while locked, the third went through


def test_a_lock_that_stays_fails_with_a_reason(project: Path, backend: Backend) -> None:
    stack = _pr_stack(project)
    backend.seed(stack, [])
    backend.lock(stack)
    proj = find_project(project)
    outcome = teardown(workspace(proj), proj, stack, _options())
    assert outcome.status == "failed" and "stayed locked through 3 tries" in outcome.detail
    assert backend.exists(stack)


def test_dry_run_changes_nothing(project: Path, backend: Backend) -> None:
    stack = _pr_stack(project)
    backend.seed(stack, _state())
    proj = find_project(project)
    outcome = teardown(workspace(proj), proj, stack, _options(dry_run=True))
    assert outcome.status == "would destroy" and outcome.detail.startswith("2 resources")
    assert backend.exists(stack) and len(backend.state(stack)["deployment"]["resources"]) == 2


def test_cli_without_pulumi_says_so_in_one_line(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = runner.invoke(app, ["teardown", "--stack", "pr-1", "--project", str(project)])
    assert result.exit_code == EXIT_BAD_CONFIG
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs the Pulumi CLI" in lines[0]


def test_cli_sweep_tears_down_every_expired_one_and_goes_on_past_failures(
    project: Path, backend: Backend
) -> None:
    expired_file = _pr_stack(project, pr=1, hours=1, now=datetime(2026, 11, 1, tzinfo=UTC))
    fresh_file = _pr_stack(project, pr=2, hours=48)
    backend.seed(expired_file, [])
    backend.lock(expired_file)  # stays locked: this one fails
    backend.seed(fresh_file, [])
    backend.seed(
        "pr-3", [], tags={"amlkit:ephemeral": "true", "amlkit:expires-at": "2026-11-30T00:00:00Z"}
    )
    backend.seed(
        "pr-4", [], tags={"amlkit:ephemeral": "true", "amlkit:expires-at": "2026-12-30T00:00:00Z"}
    )
    args = [
        "teardown",
        "--expired",
        "--now",
        "2026-12-01T10:00:00Z",
        "--lock-attempts",
        "2",
        "--lock-wait",
        "0",
        "--project",
        str(project),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_CHECK_FAILED, result.output
    assert "pr-1: failed" in result.output and "pr-3: destroyed" in result.output
    assert "pr-2" not in result.output and "pr-4" not in result.output
    assert backend.exists("pr-2") and backend.exists("pr-4") and not backend.exists("pr-3")


def test_cli_sweep_dry_run(project: Path, backend: Backend) -> None:
    stack = _pr_stack(project, pr=5, hours=1, now=datetime(2026, 11, 1, tzinfo=UTC))
    backend.seed(stack, [])
    result = runner.invoke(
        app,
        [
            "teardown",
            "--expired",
            "--dry-run",
            "--now",
            "2026-12-01T10:00:00Z",
            "--project",
            str(project),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "pr-5: would destroy (0 resources, 0 protected)" in result.output
    assert backend.exists(stack)


LOGS = "/subscriptions/0/resourceGroups/rg-amlkit-pr7/providers/Microsoft.OperationalInsights/workspaces/log-amlkit-pr7-abc123"
VAULT = "/subscriptions/0/resourceGroups/rg-amlkit-pr7/providers/Microsoft.KeyVault/vaults/kv-amlkit-pr7-123456"


def test_purge_releases_the_names_azure_allows_and_says_why_not_the_key_vault(
    project: Path, backend: Backend, standin: Standin
) -> None:
    stack = _pr_stack(project)
    backend.seed(
        stack,
        [
            *_state(),
            _resource(
                "workspace-log-analytics",
                "azure-native:operationalinsights:Workspace",
                id=LOGS,
                name="log-amlkit-pr7-abc123",
            ),
            _resource(
                "workspace-key-vault",
                "azure-native:keyvault:Vault",
                id=VAULT,
                name="kv-amlkit-pr7-123456",
                properties={"softDeleteRetentionInDays": 90},
            ),
        ],
    )
    _live_endpoint(standin)
    standin.state.workspaces.seed(WS, LOGS)
    outcome = teardown(
        workspace(find_project(project)),
        find_project(project),
        stack,
        _options(standin, purge=True),
    )
    assert outcome.ok, outcome.line()
    # Deleted for good (forceToPurge / force), so a new environment may take the names.
    assert standin.state.workspaces.released == {WS.lower(), LOGS.lower()}
    assert standin.state.workspaces.kept == set()
    assert "workspace mlw deleted permanently" in outcome.steps
    assert "Log Analytics log-amlkit-pr7-abc123 deleted, its name released" in outcome.steps
    # Azure refuses to purge a vault under purge protection: never tried, said instead.
    assert not any("KeyVault" in r for r in standin.state.requests)
    assert any(s.startswith("key vault kv-amlkit-pr7-123456 keeps its name up to 90 days")
               for s in outcome.steps)  # fmt: skip


def test_without_purge_the_workspaces_are_left_to_the_destroy(
    project: Path, backend: Backend, standin: Standin
) -> None:
    stack = _pr_stack(project)
    backend.seed(stack, _state())
    _live_endpoint(standin)
    standin.state.workspaces.seed(WS)
    outcome = teardown(
        workspace(find_project(project)), find_project(project), stack, _options(standin)
    )
    assert outcome.ok, outcome.line()
    assert (
        standin.state.workspaces.released == set() and WS.lower() in standin.state.workspaces.live
    )
