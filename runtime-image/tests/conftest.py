"""Shared fixtures of the runtime tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "sample"


@pytest.fixture(scope="session")
def sample_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample model, trained once a session by sample/train.py (model.joblib)."""
    model_dir = tmp_path_factory.mktemp("sample-model")
    subprocess.run(
        [sys.executable, str(SAMPLE / "train.py"), "--output", str(model_dir)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return model_dir
