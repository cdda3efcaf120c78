"""Shared fixtures: the recording mock engine and a stack environment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from amlkit.mock_runtime import Recording, run_program
from components.specs import StackEnvironment

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
