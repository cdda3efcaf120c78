"""amlkit's deliberate differences from az ml: one table (amlkit/plan/differences.py)
that README.md shows and `amlkit plan` prints as notices on the resources affected."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from amlkit.cli import app
from amlkit.plan.differences import BY_KEY, DIFFERENCES, notices, readme_table
from amlkit.specs.project import find_project
from tests.conftest import ROOT, ShippedPlan

ML = "azure-native:machinelearningservices:"


def test_the_readme_shows_the_table_the_plan_uses() -> None:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- differences:begin -->\n(.*?)\n<!-- differences:end -->", text, re.S)
    assert match is not None, "README.md lost its differences table markers"
    assert match.group(1) == readme_table()
    assert len(readme_table().splitlines()) == 2 + len(DIFFERENCES)


def _by_difference(document: dict[str, Any]) -> dict[str, set[str]]:
    types = {r["urn"]: r["type"].removeprefix(ML) for r in document["resources"]}
    found: dict[str, set[str]] = {}
    for notice in document["notices"]:
        found.setdefault(notice["difference"], set()).add(types[notice["urn"]])
        assert notice["message"] == BY_KEY[notice["difference"]].message()
    return found


def test_the_dev_plan_notices_each_difference_on_the_resources_it_affects(
    shipped_plan: ShippedPlan,
) -> None:
    document = shipped_plan("dev")
    found = _by_difference(document)
    # dev's cluster leaves ssh_public_access_enabled unset; its deployments run on the
    # scoring image; every endpoint, deployment and cluster carries the stack's tags
    assert found["cluster-ssh-port-closed"] == {"Compute"}
    assert found["scoring-image-environment"] == {"OnlineDeployment", "BatchDeployment"}
    assert found["stack-tags"] == {
        "Compute",
        "OnlineEndpoint",
        "OnlineDeployment",
        "BatchEndpoint",
        "BatchDeployment",
    }
    (cluster,) = [r for r in document["resources"] if r["type"] == f"{ML}Compute"]
    assert cluster["inputs"]["properties"]["properties"]["remoteLoginPortPublicAccess"] == (
        "Disabled"
    )


def test_a_file_that_sets_the_field_gets_no_notice(shipped_plan: ShippedPlan) -> None:
    project = find_project(ROOT)
    spec = project.load_spec("dev")
    (cluster,) = spec.compute
    chosen = spec.model_copy(
        update={"compute": (cluster.model_copy(update={"ssh_public_access_enabled": False}),)}
    )
    found = _by_difference({**shipped_plan("dev"), "notices": notices(chosen, shipped_plan("dev"))})
    assert "cluster-ssh-port-closed" not in found
    assert "stack-tags" in found


def test_amlkit_plan_prints_a_notice_line_and_writes_notices(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(
        app, ["plan", "--stack", "dev", "--project", str(ROOT), "--json", str(out), "-q"]
    )
    text = " ".join(result.output.split())
    assert "notice cluster-ssh-port-closed: ssh_public_access_enabled left unset: amlkit " in text
    assert "(1 resource: compute-cpu-cluster)" in text
    document = json.loads(out.read_text())
    assert {n["difference"] for n in document["notices"]} >= {"cluster-ssh-port-closed"}
