"""A throwaway amlkit project for the local-mode tests: the real Pulumi.yaml and scoring
image, a scoring script, a one-file model folder and the stacks a test needs."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import yaml

from tests.conftest import ROOT


def make_project(
    root: Path, *, score: str, weights: str, stacks: Mapping[str, Mapping[str, object]]
) -> Path:
    """`root` with Pulumi.yaml, runtime-image/ (linked), code/score.py, model/weights.txt
    and stacks/Pulumi.<name>.yaml holding `{"config": <values>}` for each stack."""
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "runtime-image").symlink_to(ROOT / "runtime-image")
    (root / "code").mkdir()
    (root / "code" / "score.py").write_text(score)
    (root / "model").mkdir()
    (root / "model" / "weights.txt").write_text(weights + "\n")
    (root / "stacks").mkdir()
    for name, config in stacks.items():
        (root / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return root
