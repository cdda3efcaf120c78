"""Shared fixtures: the recording mock engine and a stack environment."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from amlkit.plan.mock_engine import Recording, run_program
from amlkit.specs import StackEnvironment

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "aml-examples"

Render = Callable[[Callable[[], None]], Recording]


@pytest.fixture
def render() -> Render:
    """Run a program under Pulumi's mock engine (preview=False), waiting on every
    resource, and return what was registered with its inputs and mock outputs."""

    def _render(program: Callable[[], None], stack: str = "test") -> Recording:
        return run_program(program, project="amlkit", stack=stack)

    return _render


@pytest.fixture
def environment() -> StackEnvironment:
    return StackEnvironment(name="test", location="westeurope", tags={"owner": "ml-platform"})


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of Microsoft's CLI v2 samples with the local files they name made real
    (the samples repository ships them beside the YAML; this snapshot does not)."""
    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(EXAMPLES, root, dirs_exist_ok=True)
    for file in list(root.rglob("*.y*ml")):
        doc = yaml.safe_load(file.read_text())
        _materialize(doc, file.parent)
    return root


def _materialize(doc: Any, base: Path) -> None:
    if not isinstance(doc, dict):
        return
    model, code, env = doc.get("model"), doc.get("code_configuration"), doc.get("environment")
    if isinstance(model, dict) and "path" in model:
        folder = (base / model["path"]).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.pkl").write_bytes(b"\x80\x04N.")
    if isinstance(code, dict):
        folder = (base / code["code"]).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / code["scoring_script"]).write_text(
            "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
        )
    if isinstance(env, dict) and "conda_file" in env:
        conda = (base / env["conda_file"]).resolve()
        conda.parent.mkdir(parents=True, exist_ok=True)
        conda.write_text("name: env\ndependencies:\n  - python=3.11\n")
