"""Fixtures of tests/plan: the field walk's copy of the CLI v2 fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli_v2 import FIXTURES


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixtures (models, scoring code, conda file) to write the field
    walk's files beside (tests/plan/field_walk.py)."""
    root = tmp_path_factory.mktemp("fields") / "cli-v2"
    shutil.copytree(FIXTURES, root)
    return root
