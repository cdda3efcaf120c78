"""`amlkit local batch`: a stack's batch deployment run on this machine by amlkit-batch,
with the deployment's settings, over real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from amlkit.cli import EXIT_BAD_CONFIG
from tests.conftest import ROOT
from tests.local.local_project import make_project

pytestmark = pytest.mark.slow

SCORE = """\
import os

def init():
    global weights
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.txt")) as f:
        weights = f.read().strip()

def run(mini_batch):
    return [f"{os.path.basename(p)}:{len(mini_batch)}:{os.environ['TAG']}:{weights}" for p in mini_batch]
"""

ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


def _deployment(name: str, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "model": {"path": "../model", "name": "weights"},
        "code_configuration": {"code": "../code", "scoring_script": "score.py"},
        "compute": "azureml:cpu",
        "settings": {
            "mini_batch_size": 2,
            "max_concurrency_per_instance": 2,
            "output_file_name": "scores.txt",
            "environment_variables": {"TAG": name},
        },
        **extra,
    }


STACK = {
    "amlkit:environment": {"name": "loc", "location": "westeurope"},
    "amlkit:compute": [{"name": "cpu", "size": "Standard_DS3_v2"}],
    "amlkit:batch_endpoints": [
        {
            "name": "ep-batch",
            "defaults": {"deployment_name": "main"},
            "deployments": [
                _deployment("main"),
                _deployment("other"),
                {**_deployment("registered"), "model": "azureml:clf:2"},
            ],
        }
    ],
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    make_project(tmp_path, score=SCORE, weights="w-7", stacks={"loc": STACK})
    (tmp_path / "inputs").mkdir()
    for index in range(5):
        (tmp_path / "inputs" / f"part{index}.txt").write_text("x\n")
    return tmp_path


def _run(
    project: Path, *args: str, command: tuple[str, ...] = ("local", "batch")
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amlkit", *command, "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )


def test_the_default_deployment_runs_with_its_settings(project: Path) -> None:
    out = project / "out"
    result = _run(project, "--stack", "loc", "--input", str(project / "inputs"), "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [row.split(":") for row in (out / "scores.txt").read_text().splitlines()]
    # Every file once, scored by `main` (its TAG variable) with the model in Azure's layout;
    # mini_batch_size 2 over 5 files: run() got 2, 2 and 1 files.
    assert sorted(row[0] for row in rows) == [f"part{i}.txt" for i in range(5)]
    assert {(row[2], row[3]) for row in rows} == {("main", "w-7")}
    assert sorted(int(row[1]) for row in rows) == [1, 2, 2, 2, 2]
    summary = json.loads((out / "amlkit_batch_summary.json").read_text())
    assert (summary["files"], summary["mini_batches"], summary["status"]) == (5, 3, "succeeded")
    assert summary["settings"]["max_concurrency_per_instance"] == 2

    again = _run(project, "--stack", "loc", "--input", str(project / "inputs"), "-o", str(out))
    assert again.returncode == 2  # Azure ML refuses to overwrite an output location
    assert (out / "scores.txt").read_text().count("\n") == 5


def test_the_old_name_local_batch_runs_the_same_job_after_a_notice(project: Path) -> None:
    out = project / "out"
    args = ("--stack", "loc", "--input", str(project / "inputs"), "-o", str(out))
    result = _run(project, *args, command=("local-batch",))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.splitlines()[0] == (
        "warning amlkit local-batch is deprecated and will be removed in the next release; "
        "use amlkit local batch"
    )
    rows = (out / "scores.txt").read_text().splitlines()
    assert sorted(row.split(":")[0] for row in rows) == [f"part{i}.txt" for i in range(5)]
    assert all(row.endswith(":main:w-7") for row in rows), rows


def test_a_named_deployment_and_a_fresh_job_folder(project: Path) -> None:
    result = _run(project, "--stack", "loc", "-i", str(project / "inputs"), "-d", "other")
    assert result.returncode == 0, result.stdout + result.stderr
    (job,) = (project / ".amlkit" / "local" / "loc" / "jobs").iterdir()
    assert job.name.startswith("ep-batch-")
    rows = (job / "scores.txt").read_text().splitlines()
    assert len(rows) == 5
    assert all(row.endswith(":other:w-7") for row in rows), rows


def test_the_sample_batch_deployment_of_the_dev_stack(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    for index in range(3):
        frame = pd.DataFrame(rng.normal(size=(50, 20)), columns=[f"f{j}" for j in range(20)])
        frame.to_csv(tmp_path / f"part{index}.csv", index=False)
    out = tmp_path / "out"
    result = _run(ROOT, "--stack", "dev", "-i", str(tmp_path), "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    predictions = (out / "predictions.csv").read_text().splitlines()
    assert len(predictions) == 150
    assert {line.split(" ")[2] for line in predictions} <= {"0", "1"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-e", "nope"],
            "--endpoint = nope: the stack has no such batch endpoint; it has: ep-batch",
        ),
        (
            ["-d", "teal"],
            "--deployment = teal: batch endpoint ep-batch has no such deployment; "
            "it has: main, other, registered",
        ),
        (
            ["-d", "registered"],
            "batch deployment ep-batch/registered cannot run locally: model azureml:clf:2 is a "
            "registered asset, not a local path",
        ),
    ],
)
def test_names_the_stack_does_not_hold_are_bad_input(
    project: Path, args: list[str], message: str
) -> None:
    result = _run(project, "--stack", "loc", "-i", str(project / "inputs"), *args)
    assert result.returncode == EXIT_BAD_CONFIG, result.stdout + result.stderr
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
