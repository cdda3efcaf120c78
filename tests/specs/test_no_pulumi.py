"""The specs layer imports no Pulumi: config checks, schemas and local mode's layout
must not pay for Pulumi's SDK and azure-native's modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("pulumi", "pulumi_azure_native", "pulumi_docker_build", "pulumi_policy")


@pytest.mark.parametrize(
    "module", ["amlkit.specs", "amlkit.specs.project", "amlkit.specs.schema", "amlkit.local.layout"]
)
def test_importing_leaves_pulumi_out(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
