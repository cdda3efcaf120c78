"""Dry runs over a recorded file: the engine walks the recorded windows, its traffic
writes are kept and reported, nothing is sent anywhere; bad files are clear errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, EXIT_CHECK_FAILED, EXIT_OK, app
from amlkit.rollout.engine import run_rollout
from amlkit.rollout.recorded import DryRunClock, RecordedMetrics, RecordedTraffic, connect
from amlkit.rollout.sources import RolloutError, Split
from amlkit.specs.errors import ConfigError
from amlkit.specs.rollout import RolloutSpec
from tests.local.local_project import make_project
from tests.rollout.azure_env import START, FakeClock

SPEC = {
    "candidate": "green",
    "strategy": {"type": "canary", "steps": [20, 100]},
    "bake": "PT10M",
    "gates": [
        {"metric": "error_rate", "max": 0.02},
        {"metric": "CpuUtilizationPercentage", "max": 80},
    ],
    "min_requests": 100,
    "on_inconclusive": "fail",
}


def _window(green_5xx: int, cpu: float = 40) -> dict[str, Any]:
    return {
        "readings": {
            "green": {
                "statuses": {"2xx": 400 - green_5xx, "5xx": green_5xx},
                "latency_ms": {"p99": 120},
                "metrics": {"CpuUtilizationPercentage": cpu, "NotAsked": 1},
            },
            "blue": {"statuses": {"2xx": 1600}, "latency_ms": {"p99": 110}},
        }
    }


def _file(tmp_path: Path, windows: list[dict[str, Any]], suffix: str = ".yaml") -> Path:
    path = tmp_path / f"recorded{suffix}"
    doc = {
        "split": {"traffic": {"blue": 100, "green": 0}},
        "metrics_lag": "PT2M",
        "windows": windows,
    }
    path.write_text(json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_dry_run_walks_the_recorded_windows_and_keeps_its_writes(
    tmp_path: Path, suffix: str
) -> None:
    target = connect(_file(tmp_path, [_window(2), _window(3)], suffix))
    clock = FakeClock()

    result = run_rollout(
        RolloutSpec.model_validate(SPEC), target, clock, tmp_path / "state.json", endpoint="ep"
    )

    assert result.status == "promoted", result.reason
    assert isinstance(target.traffic, RecordedTraffic)
    assert target.traffic.writes == [
        Split({"blue": 80, "green": 20}, {}),
        Split({"blue": 0, "green": 100}, {}),
    ]
    assert [w.split for w in result.writes] == target.traffic.writes
    assert target.where.startswith("recorded ") and target.prober is None
    green = result.steps[0].readings["green"]
    assert green.statuses == {"2xx": 398, "5xx": 2}
    assert green.metrics == {"CpuUtilizationPercentage": 40}  # only what a gate asks for
    # Each window was read after the recorded lag: 2 x (10 + 2) minutes, none of it real.
    assert sum(clock.slept) == 2 * 12 * 60
    assert isinstance(target.metrics, RecordedMetrics) and len(target.metrics.reads) == 2


def test_a_recorded_failure_rolls_back_and_the_rollback_is_a_recorded_write(
    tmp_path: Path,
) -> None:
    target = connect(_file(tmp_path, [_window(2, cpu=95)]))
    result = run_rollout(
        RolloutSpec.model_validate(SPEC), target, FakeClock(), tmp_path / "s.json", endpoint="ep"
    )
    assert result.status == "rolled_back"
    assert "CpuUtilizationPercentage" in result.reason
    assert isinstance(target.traffic, RecordedTraffic)
    assert [s.traffic for s in target.traffic.writes] == [
        {"blue": 80, "green": 20},
        {"blue": 100, "green": 0},
    ]


def test_windows_past_the_file_read_empty(tmp_path: Path) -> None:
    target = connect(_file(tmp_path, [_window(2)]))
    result = run_rollout(
        RolloutSpec.model_validate(SPEC), target, FakeClock(), tmp_path / "s.json", endpoint="ep"
    )
    assert result.status == "rolled_back"
    assert result.reason.startswith("step 100%: inconclusive")
    assert result.steps[-1].readings["green"].requests == 0


def test_a_smoke_phase_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "request.json").write_text("{}")
    spec = {**SPEC, "smoke": {"requests": 3, "request_file": str(tmp_path / "request.json")}}
    target = connect(_file(tmp_path, [_window(0)]))
    with pytest.raises(RolloutError):
        run_rollout(
            RolloutSpec.model_validate(spec), target, FakeClock(), tmp_path / "s.json", endpoint="e"
        )
    assert isinstance(target.traffic, RecordedTraffic) and target.traffic.writes == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"windows": [{}]}, "recorded.yaml: split: is required"),
        (
            {"split": {"traffic": {"blue": 100}}, "windows": []},
            "recorded.yaml: windows: List should have at least 1 item",
        ),
        (
            {
                "split": {"traffic": {"blue": 100}},
                "windows": [{"readings": {"g": {"statuses": {"200": 1}}}}],
            },
            "recorded.yaml: windows[0].readings.g.statuses",
        ),
        (
            {"split": {"traffic": {"blue": 100}}, "metrics_lag": 60, "windows": [{}]},
            "recorded.yaml: metrics_lag = 60: 60 is not an ISO-8601 duration",
        ),
        (
            {"split": {"traffic": {"blue": 100}}, "windows": [{"reading": {}}]},
            "recorded.yaml: windows[0].reading: ",
        ),
    ],
)
def test_a_bad_recorded_file_names_the_field(
    tmp_path: Path, doc: dict[str, Any], message: str
) -> None:
    path = tmp_path / "recorded.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as error:
        connect(path)
    assert message in str(error.value)


def test_a_recorded_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "recorded.json"
    path.write_text("[1, 2]")
    with pytest.raises(
        ConfigError, match=r"recorded.json: must be a mapping with split and windows"
    ):
        connect(path)


def test_the_dry_run_clock_moves_only_when_slept_on() -> None:
    clock = DryRunClock(START)
    clock.sleep(600)
    clock.sleep(-5)
    assert clock.now() - START == timedelta(minutes=10)


def _stack(tmp_path: Path) -> Path:
    deployments = [
        {
            "name": name,
            "model": {"path": "../model", "name": "weights"},
            "code_configuration": {"code": "../code", "scoring_script": "score.py"},
            "instance_type": "Standard_DS3_v2",
            "instance_count": 1,
        }
        for name in ("blue", "green")
    ]
    config = {
        "amlkit:environment": {"name": "dry", "location": "westeurope"},
        "amlkit:online_endpoints": [
            {
                "name": "ep-dry",
                "traffic": {"blue": 100, "green": 0},
                "deployments": deployments,
                "rollout": SPEC,
            }
        ],
    }
    (tmp_path / "project").mkdir()
    return make_project(tmp_path / "project", score="", weights="w", stacks={"dry": config})


def _dry_run(project: Path, recorded: Path, *args: str) -> Any:
    return CliRunner().invoke(
        app,
        ["rollout", "--stack", "dry", "--endpoint", "ep-dry", "--recorded", str(recorded),
         "--project", str(project), *args],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
    )  # fmt: skip


def test_the_command_dry_runs_without_sleeping_for_real(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two 10-minute bakes, each read after a 2-minute lag: 24 minutes on a wall clock.
    project = _stack(tmp_path)
    recorded = _file(tmp_path, [_window(2), _window(3)])
    stack = (project / "stacks" / "Pulumi.dry.yaml").read_text()

    def no_real_sleep(seconds: float) -> None:
        raise AssertionError(f"the dry run slept {seconds:g} s for real")

    monkeypatch.setattr("time.sleep", no_real_sleep)
    result = _dry_run(project, recorded, "--report", str(tmp_path / "dry.json"))

    assert result.exit_code == EXIT_OK, result.output
    report = json.loads((tmp_path / "dry.json").read_text())
    assert report["outcome"] == "promoted"
    assert [w["traffic"] for w in report["writes"]] == [
        {"blue": 80, "green": 20},
        {"blue": 0, "green": 100},
    ]
    # The rollout's own time went by all the same: 2 x (10 + 2) minutes.
    started, ended = (datetime.fromisoformat(report[k]) for k in ("started", "ended"))
    assert ended - started == timedelta(minutes=24)
    assert (project / "stacks" / "Pulumi.dry.yaml").read_text() == stack  # a dry run

    # A failing window rolls back, still without a real sleep.
    failing = _file(tmp_path, [_window(40)])
    result = _dry_run(project, failing, "--state", str(tmp_path / "second.json"))
    assert result.exit_code == EXIT_CHECK_FAILED, result.output
    assert "rolled_back - step 20%: error_rate 0.1 > 0.02" in " ".join(result.output.split())


def test_the_command_names_a_bad_recorded_file(tmp_path: Path) -> None:
    project = _stack(tmp_path)
    bad = tmp_path / "recorded.yaml"
    bad.write_text(yaml.safe_dump({"split": {"traffic": {"blue": 100}}, "windows": []}))

    result = _dry_run(project, bad)

    assert result.exit_code == EXIT_BAD_CONFIG, result.output
    assert "recorded.yaml: windows: List should have at least 1 item" in result.output
    assert "Traceback" not in result.output
    missing = _dry_run(project, tmp_path / "none.yaml")
    assert missing.exit_code == EXIT_BAD_CONFIG, missing.output
    assert "none.yaml" in missing.output
