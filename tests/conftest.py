"""Shared fixtures: the recording mock engine, a stack environment, and Microsoft's
CLI v2 samples (skipped with the reason where they are absent)."""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from amlkit.plan.mock_engine import Recording, run_program
from amlkit.specs import StackEnvironment

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AMLKIT_SHARED_DIR") or ROOT.parent / "shared").resolve()
"""The team's shared folder; `AMLKIT_SHARED_DIR` overrides the default `<repo>/../shared`."""
EXAMPLES = SHARED / "aml-examples"
"""Microsoft's CLI v2 samples (Azure/azureml-examples), which a clone of amlkit alone lacks."""
REQUIRE_SHARED = os.environ.get("AMLKIT_REQUIRE_SHARED", "") not in ("", "0")
"""CI (.ci/run) sets AMLKIT_REQUIRE_SHARED=1: absent samples fail the run instead of skipping."""
ABSENT = "samples-absent"
"""The one parameter of a sample test when the samples are absent (see `example_files`)."""

Render = Callable[[Callable[[], None]], Recording]
ShippedPlan = Callable[[str], dict[str, Any]]


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


def samples_present() -> bool:
    return (EXAMPLES / "cli").is_dir()


def example_files(keep: Callable[[Path], bool] = lambda _: True) -> list[str]:
    """The samples' YAML files `keep` selects, relative to EXAMPLES, to parametrize a test
    that takes the `examples` fixture. Without the samples: one placeholder, so the test
    is still collected and `shared_examples` skips (or fails) it with the reason, where
    an empty parameter set would fail collection (`empty_parameter_set_mark`)."""
    if not samples_present():
        return [ABSENT]
    return sorted(
        str(p.relative_to(EXAMPLES))
        for p in EXAMPLES.rglob("*.y*ml")
        if p.name != "README.md" and keep(p)
    )


@pytest.fixture(scope="session")
def shared_examples() -> Path:
    """EXAMPLES, checked once: the one place a test of Microsoft's samples skips.

    Absent samples skip the test with the reason, or fail it under
    AMLKIT_REQUIRE_SHARED=1, so CI always runs them."""
    if not samples_present():
        reason = (
            f"Microsoft's CLI v2 samples are not at {EXAMPLES}; set AMLKIT_SHARED_DIR to the "
            "folder that holds aml-examples/ (default: ../shared beside the repository)"
        )
        if REQUIRE_SHARED:
            pytest.fail(f"{reason}. AMLKIT_REQUIRE_SHARED is set: they must run", pytrace=False)
        pytest.skip(reason)
    return EXAMPLES


@pytest.fixture(scope="session")
def examples(shared_examples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of Microsoft's CLI v2 samples with the local files they name made real
    (the samples repository ships them beside the YAML; this snapshot does not)."""
    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(shared_examples, root, dirs_exist_ok=True)
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


@pytest.fixture(scope="session")
def shipped_plan() -> ShippedPlan:
    """The plan JSON of a shipped stack (`stacks/Pulumi.<stack>.yaml`), rendered once a
    session under the mock engine; each call gets its own copy to change."""
    from amlkit.plan.render import plan_document, render
    from amlkit.specs.project import find_project

    rendered: dict[str, dict[str, Any]] = {}

    def plan(stack: str) -> dict[str, Any]:
        if stack not in rendered:
            project = find_project(ROOT)
            rendered[stack] = plan_document(project, stack, render(project, stack))
        return copy.deepcopy(rendered[stack])

    return plan
