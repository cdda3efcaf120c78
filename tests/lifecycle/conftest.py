"""A throwaway project, the stand-in `pulumi` on PATH with a DIY backend folder, and the
Azure endpoint stand-in, for the test-environment and teardown tests."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.azure_standin import Standin, serve
from tests.conftest import ROOT

STANDIN = Path(__file__).with_name("pulumi_standin.py")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of Pulumi.yaml and the shipped stacks, pointing at the real sample model and
    policy configs."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", root / "stacks")
    (root / "runtime-image").symlink_to(ROOT / "runtime-image")
    (root / "policy").symlink_to(ROOT / "policy")
    return root


class Backend:
    """The stand-in CLI's state folder: seed stacks, lock them, read what was run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stacks = folder / ".pulumi" / "stacks" / "amlkit"
        self.locks = folder / ".pulumi" / "locks" / "amlkit"

    def seed(
        self,
        name: str,
        resources: list[dict[str, Any]],
        tags: dict[str, str] | None = None,
    ) -> None:
        self.stacks.mkdir(parents=True, exist_ok=True)
        (self.stacks / f"{name}.json").write_text(
            json.dumps({"tags": tags or {}, "deployment": {"resources": resources}, "history": []})
        )

    def lock(self, name: str, refusals: int | None = None) -> None:
        folder = self.locks / name
        folder.mkdir(parents=True, exist_ok=True)
        info: dict[str, Any] = {"by": "pulumi up in another job"}
        if refusals is not None:
            info["refusals"] = refusals
        (folder / "lock-1.json").write_text(json.dumps(info))

    def exists(self, name: str) -> bool:
        return (self.stacks / f"{name}.json").exists()

    def state(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.stacks / f"{name}.json").read_text())
        return data

    def calls(self) -> list[list[str]]:
        log = self.folder / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """`pulumi` on PATH is the stand-in; its backend is a fresh folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "pulumi"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    wrapper.chmod(0o755)
    folder = tmp_path / "backend"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{folder}")
    monkeypatch.delenv("AMLKIT_PULUMI_ROOT", raising=False)
    return Backend(folder)


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Standin]:
    """Azure ML's endpoint API on 127.0.0.1 over TLS (tests/azure_standin)."""
    with serve(tmp_path) as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_file))
        yield running
