"""`amlkit local batch` on a pipeline-component deployment: the component's command
steps run here for real, in binding order, over real files; what cannot run here is
refused in one line naming why."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from amlkit.cli import EXIT_BAD_CONFIG
from amlkit.local.layout import LocalModeError
from amlkit.local.pipeline import pipeline_steps
from amlkit.specs import PipelineBatchDeploymentSpec, load_cli_yaml
from tests.cli_v2 import FIXTURES
from tests.local.local_project import make_project

ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


def _stack(deployment: str, **settings: object) -> dict[str, object]:
    return {
        "amlkit:environment": {"name": "loc", "location": "westeurope"},
        "amlkit:compute": [{"name": "batch-cluster", "size": "Standard_DS3_v2"}],
        "amlkit:batch_endpoints": [
            {
                "name": "pipeline-batch",
                "deployments": [{"file": f"../pipeline/{deployment}", **settings}],
            }
        ],
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    make_project(
        tmp_path,
        score="def init():\n    pass\n",
        weights="w",
        stacks={"loc": _stack("deployment.yml"), "reg": _stack("deployment-registered.yml")},
    )
    shutil.copytree(FIXTURES / "pipeline", tmp_path / "pipeline")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "a.csv").write_text("0.9\n\n0.1\n")
    (inputs / "b.csv").write_text("0.5\n ,\n")
    return tmp_path


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amlkit", "local", "batch", "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )


def test_the_steps_run_in_order_and_write_the_pipeline_output(project: Path) -> None:
    out = project / "out"
    result = _run(project, "--stack", "loc", "--input", str(project / "inputs"), "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    # prepare dropped the blank rows into its own output; score read them from there.
    assert (out / "steps" / "prepare" / "prepared" / "a.csv").read_text().split() == [
        "0.9",
        "0.1",
    ]
    # score's output is bound to the pipeline's `scores` output; threshold: the default 0.5.
    rows = (out / "scores" / "scores.csv").read_text().split()
    assert rows == ["a.csv,0.9,1", "a.csv,0.1,0", "b.csv,0.5,1"]
    assert result.stderr.index("step prepare:") < result.stderr.index("step score:")

    again = _run(project, "--stack", "loc", "--input", str(project / "inputs"), "-o", str(out))
    assert again.returncode == EXIT_BAD_CONFIG
    assert "must be a new or empty folder" in again.stderr


def test_a_failed_step_fails_the_job_and_later_steps_do_not_run(project: Path) -> None:
    (project / "inputs" / "c.csv").write_text("not-a-number\n")
    out = project / "out"
    result = _run(project, "--stack", "loc", "--input", str(project / "inputs"), "-o", str(out))
    assert result.returncode == 1
    assert "step score: failed (exit code 1)" in result.stderr
    assert "job failed" in result.stderr


def test_a_registered_component_is_refused_in_one_line(project: Path) -> None:
    result = _run(project, "--stack", "reg", "--input", str(project / "inputs"))
    assert result.returncode == EXIT_BAD_CONFIG
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "pipeline-batch/registered cannot run locally" in lines[0]
    assert "azureml:prepare_score:2 is registered in the workspace" in lines[0]


def _with(tmp_path: Path, edit: dict[str, object], file: str = "components/score.yml") -> Path:
    copy = tmp_path / "pipeline"
    shutil.copytree(FIXTURES / "pipeline", copy)
    doc = yaml.safe_load((copy / file).read_text())
    doc.update(edit)
    (copy / file).write_text(yaml.safe_dump(doc))
    return copy / "deployment.yml"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            {"command": "bash run.sh ${{inputs.data}} ${{inputs.threshold}} ${{outputs.scores}}"},
            "step 'score': its command runs 'bash', not python",
        ),
        ({"code": "azureml:score-code:1"}, "step 'score': its code 'azureml:score-code:1'"),
    ],
)
def test_steps_that_cannot_run_here_are_named(
    tmp_path: Path, edit: dict[str, object], reason: str
) -> None:
    spec = load_cli_yaml(_with(tmp_path, edit))
    assert isinstance(spec, PipelineBatchDeploymentSpec)
    with pytest.raises(LocalModeError, match="cannot run locally") as error:
        pipeline_steps("ep", spec, tmp_path, tmp_path / "out")
    assert reason in str(error.value)


def test_a_pipeline_with_two_data_inputs_names_them(tmp_path: Path) -> None:
    path = _with(
        tmp_path,
        {
            "inputs": {
                "input_data": {"type": "uri_folder"},
                "extra": {"type": "uri_file"},
                "threshold": {"type": "number", "default": 0.5},
            }
        },
        file="pipeline.yml",
    )
    spec = load_cli_yaml(path)
    assert isinstance(spec, PipelineBatchDeploymentSpec)
    with pytest.raises(
        LocalModeError, match=r"2 data inputs \(extra, input_data\); --input binds exactly one"
    ):
        pipeline_steps("ep", spec, tmp_path, tmp_path / "out")
