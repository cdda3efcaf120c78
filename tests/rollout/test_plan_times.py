"""`amlkit plan` shows each endpoint's rollout times in its human view and its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from amlkit.cli import app
from tests.conftest import ROOT


def test_plan_prints_and_writes_the_rollout_times(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(
        app,
        ["plan", "--stack", "staging", "--quiet", "--json", str(out), "--project", str(ROOT)],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "amlkit-staging-score" in line)
    assert "green" in row and "10%, 50%, 100%" in row and "PT52M" in row and "PT13M" in row
    (rollout,) = json.loads(out.read_text())["rollouts"]
    assert (rollout["minimum_to_promote"], rollout["time_to_roll_back"]) == ("PT52M", "PT13M")
