"""`amlkit --help` and each command's help, as a user reads them; and the one old
command name kept for a release (`local-batch`)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, app
from tests.conftest import ROOT

runner = CliRunner()
ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
COMMANDS = [
    ["plan"],
    ["config"],
    ["config", "validate"],
    ["config", "schema"],
    ["local"],
    ["local", "serve"],
    ["local", "batch"],
    ["version"],
]
NOTICE = (
    "warning amlkit local-batch is deprecated and will be removed in the next release; "
    "use amlkit local batch"
)


def _help(args: list[str]) -> str:
    result = runner.invoke(app, [*args, "--help"], env=ENV)
    assert result.exit_code == 0, result.output
    return result.output


def _commands(text: str) -> list[str]:
    """The sub-commands a help text lists, in its order (rows of its command panels)."""
    return re.findall(r"^│ ([a-z][-a-z]*)\s{2,}\S", text, re.MULTILINE)


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_flags_take_no_value_in_help(args: list[str]) -> None:
    """A flag's line shows no value placeholder: `--quiet`, not `--quiet <bool>`."""
    text = _help(args)
    assert f"Usage: amlkit {' '.join(args)} [OPTIONS]" in text
    flag_lines = [
        line for line in text.splitlines() if re.search(r"--(help|quiet|check-azure|once)\b", line)
    ]
    assert flag_lines
    for line in flag_lines:
        assert not re.search(r"<bool>|\bBOOLEAN\b", line), line


def test_plan_help_names_every_option_with_its_value() -> None:
    text = _help(["plan"])
    for option in ("--stack", "--json", "--quiet", "--previous", "--project", "--check-azure"):
        assert option in text
    assert re.search(r"--stack\b.*(TEXT|<str>)", text), "--stack must show that it takes a value"
    # Rich markup would eat a bare [secret]; the help shows what the plan JSON holds.
    assert '(secrets as "[secret]")' in text


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("serve", ["--stack", "--endpoint", "--port", "--request", "--once", "--start-timeout"]),
        ("batch", ["--stack", "--input", "--endpoint", "--deployment", "--output"]),
    ],
)
def test_local_help_names_every_option(command: str, options: list[str]) -> None:
    text = _help(["local", command])
    for option in [*options, "--project"]:
        assert re.search(rf"^│ [ *]  {option}\b", text, re.MULTILINE), option


def test_top_level_help_lists_the_nouns_then_version_and_hides_the_old_name() -> None:
    assert _commands(_help([])) == [
        "plan",
        "teardown",
        "config",
        "local",
        "env",
        "cost",
        "ci",
        "rollout",
        "version",
    ]


def test_rollout_help_lists_status_resume_and_abort() -> None:
    assert _commands(_help(["rollout"])) == ["status", "resume", "abort"]


def test_rollout_help_loads_no_rollout_target() -> None:
    # The Azure SDK and the targets are imported when a rollout runs, not for help.
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from amlkit.cli import app\n"
        "assert CliRunner().invoke(app, ['rollout', '--help']).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('amlkit.rollout', 'azure.mgmt'))))\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]", shown.stderr


def test_local_help_lists_serve_and_batch_and_where_the_old_form_went() -> None:
    text = _help(["local"])
    assert _commands(text) == ["serve", "batch"]
    assert "amlkit local --stack S of amlkit 0.1 is now amlkit local serve --stack S." in text


@pytest.mark.parametrize("args", [["local"], ["local", "--stack", "dev"]], ids=" ".join)
def test_local_without_a_sub_command_is_bad_input(args: list[str]) -> None:
    """`local` takes no options of its own: it never guesses `serve` (see local.py)."""
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 2, result.output
    assert "Serving" not in result.output
    assert "amlkit local [OPTIONS] COMMAND" in result.output


def test_local_batch_old_name_runs_local_batch_after_a_notice() -> None:
    """`amlkit local-batch` (amlkit 0.1) is `amlkit local batch` for one more release: the
    same command, the same outcome, with one line first on stderr naming the new form."""
    args = ["--stack", "dev", "--input", str(ROOT / "README.md"), "--endpoint", "nope"]
    args += ["--project", str(ROOT)]
    new = runner.invoke(app, ["local", "batch", *args], env=ENV)
    old = runner.invoke(app, ["local-batch", *args], env=ENV)

    assert new.exit_code == old.exit_code == EXIT_BAD_CONFIG
    assert "--endpoint = nope: the stack has no such batch endpoint" in new.stderr
    assert old.stderr.splitlines() == [NOTICE, *new.stderr.splitlines()]
    assert old.stdout == new.stdout
    assert NOTICE not in new.output


def test_local_batch_old_name_gives_the_notice_even_when_its_options_are_wrong() -> None:
    result = runner.invoke(app, ["local-batch", "--stack", "dev", "--bogus"], env=ENV)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == NOTICE
    assert "No such option: --bogus" in result.stderr
