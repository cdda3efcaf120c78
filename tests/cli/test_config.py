"""`amlkit config validate` and `amlkit config schema`, as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, app
from tests.conftest import ROOT

runner = CliRunner()
STACKS = ["dev", "staging", "prod"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's Pulumi.yaml and stacks, pointing at the real sample model
    and policy pack."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(
        ROOT / "stacks", tmp_path / "stacks", ignore=shutil.ignore_patterns("__main__.py")
    )
    (tmp_path / "runtime-image").symlink_to(ROOT / "runtime-image")
    (tmp_path / "policy").symlink_to(ROOT / "policy")  # the stacks name its pack configs
    return tmp_path


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_validate(stack: str) -> None:
    result = runner.invoke(app, ["config", "validate", "--stack", stack, "--project", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert f"ok stack {stack}" in result.output


def test_bad_config_one_line_per_problem_exit_2(project: Path) -> None:
    path = project / "stacks" / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    endpoint = doc["config"]["amlkit:online_endpoints"][0]
    endpoint["deployments"][0]["instance_count"] = 0
    doc["config"]["amlkit:compute"][0]["tier"] = "spot"
    path.write_text(yaml.safe_dump(doc))
    before = path.read_bytes()

    result = runner.invoke(app, ["config", "validate", "--stack", "dev", "--project", str(project)])

    assert result.exit_code == EXIT_BAD_CONFIG
    lines = [line for line in result.output.splitlines() if line.startswith("error ")]
    assert "Traceback" not in result.output
    assert any(
        "stacks/Pulumi.dev.yaml: compute[cpu-cluster].tier = 'spot': is not allowed; allowed: 'dedicated' or 'low_priority'"
        in line
        for line in lines
    ), lines
    assert any("deployments[blue].instance_count = 0" in line for line in lines), lines
    assert len(lines) == 2 and "2 problems in the stack config" in result.output, result.output
    assert path.read_bytes() == before, "validation must never touch the config"


def test_yaml_syntax_error_names_the_line(project: Path) -> None:
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + "  amlkit:oops: [unclosed\n")
    result = runner.invoke(app, ["config", "validate", "--stack", "dev", "--project", str(project)])
    assert result.exit_code == EXIT_BAD_CONFIG
    assert "Pulumi.dev.yaml: line" in result.output and "is not valid YAML" in result.output


def test_unknown_stack_lists_the_stacks() -> None:
    result = runner.invoke(app, ["config", "validate", "--stack", "qa", "--project", str(ROOT)])
    assert result.exit_code == EXIT_BAD_CONFIG
    assert "no such stack; stacks here: dev, k8s, prod, staging" in result.output


def test_schema_accepts_the_shipped_stacks_and_flags_mistakes(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = runner.invoke(app, ["config", "schema", "--output", str(out)])
    assert result.exit_code == 0, result.output
    schema = json.loads(out.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for stack in STACKS:
        doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
        assert list(validator.iter_errors(doc)) == [], stack
    bad = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    bad["config"]["amlkit:bogus"] = 1
    bad["config"]["amlkit:online_endpoints"][0]["auth_mode"] = "password"
    messages = [e.message for e in validator.iter_errors(bad)]
    assert any("amlkit:bogus" in m for m in messages)
    assert any("'password'" in m for m in messages)


def test_schema_allows_cli_v2_file_references() -> None:
    result = runner.invoke(app, ["config", "schema"])
    schema = json.loads(result.stdout)
    validator = jsonschema.Draft202012Validator(schema)
    doc = {
        "config": {
            "amlkit:environment": {"name": "dev", "location": "westeurope"},
            "amlkit:online_endpoints": [
                {
                    "file": "endpoint.yml",
                    "deployments": ["blue-deployment.yml", {"file": "green.yml"}],
                }
            ],
        }
    }
    assert list(validator.iter_errors(doc)) == []


@pytest.mark.parametrize(
    "args",
    [
        ["config", "validate", "--stack", "prod", "--project", str(ROOT)],
        ["config", "schema", "--output", "/dev/null"],
    ],
    ids=" ".join,
)
def test_config_commands_load_no_pulumi(args: list[str]) -> None:
    """`config` needs the specs only: it must not pay for Pulumi's ~260 modules."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from amlkit.cli import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pulumi', 'pulumi_azure_native'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
