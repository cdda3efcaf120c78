"""No input makes `config validate` or `plan` use more than 1 GB or 30 s of CPU: the
hostile files of issue 14 run in a subprocess under those limits (setrlimit) and must
end in a clean exit 2 with one line, not a kill, a MemoryError or a hang."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amlkit.specs.loader import MAX_CONFIG_BYTES
from tests.conftest import ROOT
from tests.specs.test_loader import BILLION_LAUGHS

GIB = 1 << 30


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))
    resource.setrlimit(resource.RLIMIT_CPU, (30, 30))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks", ignore=shutil.ignore_patterns("*.py"))
    (tmp_path / "stacks" / "__main__.py").symlink_to(ROOT / "stacks" / "__main__.py")
    (tmp_path / "runtime-image").symlink_to(ROOT / "runtime-image")
    (tmp_path / "policy").symlink_to(ROOT / "policy")
    return tmp_path


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amlkit", *args, "--stack", "dev", "--project", str(project)],
        preexec_fn=_limits,
        capture_output=True,
        text=True,
        timeout=300,  # a safety net for the suite; the CPU limit is the bound under test
        check=False,
    )


def _hostile(project: Path, case: str) -> None:
    stack = project / "stacks" / "Pulumi.dev.yaml"
    if case == "billion laughs":
        stack.write_text(
            "laughs:\n"
            + BILLION_LAUGHS.replace("\n", "\n  ").replace("a:", "  a:", 1)
            + "\n"
            + stack.read_text()
        )
    elif case == "/dev/zero":
        (project / "zero.yml").symlink_to("/dev/zero")
        text = stack.read_text().replace(
            "        - name: blue", "        - file: ../zero.yml\n        - name: blue", 1
        )
        stack.write_text(text)
    else:  # a conda file that never ends
        (project / "env.yml").symlink_to("/dev/zero")
        text = stack.read_text().replace(
            "          instance_type: Standard_DS3_v2",
            "          environment: {image: python:3.11, conda_file: ../env.yml}\n"
            "          instance_type: Standard_DS3_v2",
            1,
        )
        stack.write_text(text)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["billion laughs", "/dev/zero", "endless conda file"])
@pytest.mark.parametrize("command", [["config", "validate"], ["plan", "-q"]])
def test_hostile_inputs_end_in_exit_2_within_bounds(
    project: Path, case: str, command: list[str]
) -> None:
    _hostile(project, case)
    result = _run(project, *command)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    errors = [line for line in result.stderr.splitlines() if line.startswith("error ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    says = {
        "billion laughs": "expands to more than 100,000 nodes",
        "/dev/zero": "zero.yml: is not a regular file",
        "endless conda file": "env.yml is not a regular file",
    }[case]
    assert says in errors[0], errors


@pytest.mark.slow
def test_the_largest_config_read_validates_within_bounds(project: Path) -> None:
    """A valid stack file just under the loader's cap (512 KiB of environment variables)
    validates under the same limits; one just over it is refused before it is parsed."""
    stack = project / "stacks" / "Pulumi.dev.yaml"
    text = stack.read_text()
    variables = "".join(f"            V{i}: x{i}\n" for i in range(19_000))
    big = text.replace(
        '            WORKER_COUNT: "2"\n', f'            WORKER_COUNT: "2"\n{variables}', 1
    )
    assert MAX_CONFIG_BYTES - 64 * 1024 < len(big) < MAX_CONFIG_BYTES
    stack.write_text(big)
    result = _run(project, "config", "validate")
    assert result.returncode == 0, result.stderr[-2000:]
    stack.write_text(big + "#" * MAX_CONFIG_BYTES)
    result = _run(project, "config", "validate")
    assert result.returncode == 2
    assert "is larger than 512 KiB, the limit for this kind of file" in result.stderr
