"""`amlkit --help` and each command's help, as a user reads them."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from amlkit.cli import app

runner = CliRunner()
COMMANDS = [["plan"], ["config", "validate"], ["config", "schema"], ["version"]]


def _help(args: list[str]) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_flags_take_no_value_in_help(args: list[str]) -> None:
    """A flag's line shows no value placeholder: `--quiet`, not `--quiet <bool>`."""
    text = _help(args)
    assert "--help" in text
    flag_lines = [
        line for line in text.splitlines() if re.search(r"--(help|quiet|check-azure)\b", line)
    ]
    assert flag_lines
    for line in flag_lines:
        assert not re.search(r"<bool>|\bBOOLEAN\b", line), line


def test_plan_help_names_every_option_with_its_value() -> None:
    text = _help(["plan"])
    for option in ("--stack", "--json", "--quiet", "--previous", "--project", "--check-azure"):
        assert option in text
    assert re.search(r"--stack\b.*(TEXT|<str>)", text), "--stack must show that it takes a value"


def test_top_level_help_lists_the_commands() -> None:
    text = _help([])
    for command in ("plan", "config", "version"):
        assert re.search(rf"^\W*{command}\s", text, re.MULTILINE), command
