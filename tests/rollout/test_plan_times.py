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
    # The table (rows may wrap at the console's width, set once per process).
    table = result.output[result.output.index("Rollouts (amlkit rollout)") :]
    assert "PT52M" in table and "PT13M" in table and "10%," in table
    (rollout,) = json.loads(out.read_text())["rollouts"]
    assert (rollout["minimum_to_promote"], rollout["time_to_roll_back"]) == ("PT52M", "PT13M")
