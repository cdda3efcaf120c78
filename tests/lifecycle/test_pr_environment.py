"""`amlkit env create` and `env ls`: the written stack file validates, renders, keeps its
source's comments and secure values, and gets new names on every creation."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, app
from amlkit.lifecycle.endpoint_names import rename_endpoints
from amlkit.lifecycle.ttl import parse_ttl
from amlkit.specs import (
    BatchDeploymentSpec,
    PipelineBatchDeploymentSpec,
    StackEnvironment,
    load_stack_spec,
)
from amlkit.specs.naming import Names
from amlkit.specs.types import ENDPOINT_NAME_PATTERN

runner = CliRunner()
NOW = "2026-12-01T10:00:00Z"


def _create(project: Path, *extra: str) -> str:
    result = runner.invoke(
        app,
        [
            "env",
            "create",
            "--from",
            "dev",
            "--pr",
            "123",
            "--now",
            NOW,
            "--project",
            str(project),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_create_writes_a_stack_that_validates_and_renders(project: Path) -> None:
    output = _create(project, "--ttl", "2d")
    path = project / "stacks" / "Pulumi.pr-123.yaml"
    spec = load_stack_spec(project / "stacks", "pr-123")
    env = spec.environment
    assert (env.name, env.protect) == ("pr123", False)
    assert env.ephemeral is not None and env.ephemeral.ttl_hours == 48
    assert env.ephemeral.expires_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert (env.ephemeral.source, env.ephemeral.pull_request) == ("dev", 123)
    assert env.salt is not None and f"salt {env.salt}" in output
    online = spec.online_endpoints[0].name
    assert online == f"amlkit-pr123-score-{env.salt}" and f"amlkit-dev-score -> {online}" in output
    assert spec.batch_endpoints[0].name == f"amlkit-pr123-batch-{env.salt}"
    assert path.read_text().count('expires_at: "2026-12-03T10:00:00Z"') == 1
    validated = runner.invoke(
        app, ["config", "validate", "--stack", "pr-123", "--project", str(project)]
    )
    assert validated.exit_code == 0, validated.output
    plan_file = project / "plan.json"
    planned = runner.invoke(
        app,
        [
            "plan",
            "--stack",
            "pr-123",
            "--quiet",
            "--json",
            str(plan_file),
            "--project",
            str(project),
        ],
    )
    assert planned.exit_code == 0, planned.output
    names = {r["name"]: r for r in yaml.safe_load(plan_file.read_text())["resources"]}
    endpoint = names[f"online-{online}"]
    assert endpoint["inputs"]["endpointName"] == online
    workspace = names["workspace"]["inputs"]["workspaceName"]
    assert workspace == f"mlw-amlkit-pr123-{env.salt}" and not names["workspace"]["protect"]


def test_create_keeps_comments_and_secure_values(project: Path) -> None:
    source = project / "stacks" / "Pulumi.dev.yaml"
    text = (
        source.read_text()
        .replace(
            "    action_group:\n",
            "",
        )
        .replace(
            "  amlkit:monitoring:\n",
            "  amlkit:monitoring:  # who hears about it\n",
        )
    )
    text += "  extra:token:\n    secure: AAABAKxyzCipherText==\n"
    source.write_text(text)
    _create(project)
    written = (project / "stacks" / "Pulumi.pr-123.yaml").read_text()
    assert "# The dev environment: cheap and open." in written
    assert "amlkit:monitoring:  # who hears about it" in written
    assert "secure: AAABAKxyzCipherText==" in written
    assert written.startswith("# Test environment pr-123: amlkit env create --from dev --pr 123")


def test_each_creation_gets_new_names_azure_keeps(project: Path) -> None:
    _create(project)
    first = load_stack_spec(project / "stacks", "pr-123").environment
    refused = runner.invoke(
        app, ["env", "create", "--from", "dev", "--pr", "123", "--project", str(project)]
    )
    assert refused.exit_code == EXIT_BAD_CONFIG and "--replace" in refused.output
    _create(project, "--replace")
    second = load_stack_spec(project / "stacks", "pr-123").environment
    assert first.salt != second.salt
    for name in ("key_vault", "workspace", "log_analytics", "storage_account"):
        assert getattr(Names(first), name)() != getattr(Names(second), name)()


def test_small_profile_from_prod_validates(project: Path) -> None:
    result = runner.invoke(
        app,
        [
            "env",
            "create",
            "--from",
            "prod",
            "--pr",
            "9",
            "--profile",
            "small",
            "--now",
            NOW,
            "--project",
            str(project),
        ],
    )
    assert result.exit_code == 0, result.output
    spec = load_stack_spec(project / "stacks", "pr-9")
    blue = spec.online_endpoints[0].deployments[0]
    assert (blue.autoscale, blue.instance_count) == (None, 1)
    cluster = spec.compute[0]
    assert (cluster.min_instances, cluster.max_instances, cluster.tier) == (0, 1, "low_priority")
    assert spec.workspace.container_registry.sku == "Premium"  # private: Premium stays
    assert spec.workspace.log_analytics.retention_in_days == 30
    assert spec.environment.protect is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "huge"], "'huge' is not a profile; profiles: small"),
        (["--ttl", "31d"], "allowed: 1h to 720h"),
        (["--ttl", "soon"], "write hours or days"),
    ],
)
def test_create_refuses_bad_requests(project: Path, args: list[str], message: str) -> None:
    result = runner.invoke(
        app, ["env", "create", "--from", "dev", "--pr", "1", "--project", str(project), *args]
    )
    assert result.exit_code == EXIT_BAD_CONFIG and message in result.output
    assert not (project / "stacks" / "Pulumi.pr-1.yaml").exists()


def test_env_ls_shows_expiry(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from amlkit.cli.common import out

    monkeypatch.setattr(out, "width", 200)
    _create(project, "--ttl", "1h")
    result = runner.invoke(
        app, ["env", "ls", "--now", "2026-12-01T13:00:00Z", "--project", str(project)]
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "pr-123" in line)
    assert "ephemeral" in row and "2026-12-01T11:00:00Z" in row and "expired 2h ago" in row
    assert re.search(r"prod .*lasting .*never", result.output)


def test_expires_at_is_utc_and_must_have_an_offset() -> None:
    base = {"name": "pr1", "location": "westeurope", "salt": "abcd"}
    env = StackEnvironment.model_validate(
        {**base, "ephemeral": {"expires_at": "2026-12-01T12:00:00+02:00"}}
    )
    assert env.ephemeral is not None and env.ephemeral.expires_at == datetime(
        2026, 12, 1, 10, tzinfo=UTC
    )
    with pytest.raises(ValidationError, match="timezone"):
        StackEnvironment.model_validate(
            {**base, "ephemeral": {"expires_at": "2026-12-01T12:00:00"}}
        )


def test_ttl() -> None:
    assert (parse_ttl("48h"), parse_ttl("2d"), parse_ttl(" 1H ")) == (48, 48, 1)


@given(
    st.lists(
        st.from_regex(r"[a-z][a-z0-9]{0,12}(-[a-z0-9]{1,12}){0,3}", fullmatch=True),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    st.from_regex(r"pr[1-9][0-9]{0,9}", fullmatch=True),
)
def test_renamed_endpoints_are_valid_unique_and_keep_the_salt(names: list[str], env: str) -> None:
    names = [n for n in names if len(n) >= 3]
    renamed = rename_endpoints(names, source_env="dev", env=env, salt="9f8e7d")
    assert len({n.lower() for n in renamed.values()}) == len(renamed)
    for new in renamed.values():
        assert re.match(ENDPOINT_NAME_PATTERN, new) and 3 <= len(new) <= 32
        assert new.endswith("-9f8e7d")


def test_small_profile_leaves_pipeline_deployments_without_an_instance_count(
    project: Path,
) -> None:
    """A pipeline-component deployment has no `resources`: the profile lowers its
    cluster's ceiling instead, and the written stack still validates."""
    from tests.cli_v2 import FIXTURES

    shutil.copytree(FIXTURES / "pipeline", project / "stacks" / "pipeline")
    path = project / "stacks" / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    batch = doc["config"]["amlkit:batch_endpoints"][0]
    batch["defaults"] = {"deployment_name": batch["deployments"][0]["name"]}
    batch["deployments"].append(
        {
            "file": "pipeline/deployment-registered.yml",
            "endpoint_name": batch["name"],
            "settings": {"default_compute": "cpu-cluster"},
        }
    )
    path.write_text(yaml.safe_dump(doc))
    _create(project, "--profile", "small")
    spec = load_stack_spec(project / "stacks", "pr-123")
    model, pipeline = spec.batch_endpoints[0].deployments
    assert isinstance(pipeline, PipelineBatchDeploymentSpec)
    assert pipeline.settings.default_compute == "cpu-cluster"
    assert isinstance(model, BatchDeploymentSpec) and model.resources.instance_count == 1
    assert spec.compute[0].max_instances == 1
