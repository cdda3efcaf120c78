"""`amlkit rollout` against the Azure stand-ins, end to end through the CLI: ARM over
TLS on 127.0.0.1 holds the endpoint and its split, the Azure Monitor stand-in answers
readings that follow the live split (600 requests a minute, the candidate's error rate
as the scenario says, Azure Monitor's three-minute lag), smoke requests go to the
endpoint's scoring URI with its key. A fake clock makes bakes and lag take no time.

- a healthy candidate reaches 100% through every step;
- a candidate failing one request in five passes its smoke phase (four requests) and
  is rolled back at the first gate;
- in both, the exact traffic writes Azure received are asserted, and afterwards the
  stack config's traffic equals the live traffic;
- Azure failing mid-walk (Azure Monitor's 403 without Monitoring Reader) rolls back as
  a failed gate does; a rollback write Azure refuses (the role removed while a step
  baked) leaves the rollout running and names the `abort` that puts the split back.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, EXIT_CHECK_FAILED, EXIT_OK, app
from amlkit.components.dynamic.arm_client import ArmClient
from tests.azure_standin import Standin, serve, standin_credential
from tests.local.local_project import make_project
from tests.rollout.azure_env import SUBSCRIPTION, FakeClock, make_endpoint, workspace_id

STACK = "azt"
ENDPOINT_ID = f"{workspace_id('rg-amlkit-azt', 'mlw-amlkit-azt')}/onlineEndpoints/ep-azr"


def _deployment(name: str) -> dict[str, object]:
    return {
        "name": name,
        "model": {"path": "../model", "name": "weights"},
        "code_configuration": {"code": "../code", "scoring_script": "score.py"},
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
    }


ROLLOUT: dict[str, Any] = {
    "candidate": "green",
    "baseline": "blue",
    "strategy": {"type": "canary", "steps": [10, 50, 100]},
    "bake": "PT5M",
    "metrics_lag": "PT3M",
    "smoke": {"requests": 4, "request_file": "../request.json"},
    "gates": [
        {"metric": "error_rate", "max": 0.05},
        {"metric": "latency_p99", "max": 500, "max_ratio_to_baseline": 2},
    ],
    "min_requests": 50,
    "on_failure": "rollback",
}
CONFIG = {
    "amlkit:environment": {"name": STACK, "location": "westeurope"},
    "amlkit:online_endpoints": [
        {
            "name": "ep-azr",
            "auth_mode": "key",
            "traffic": {"blue": 100, "green": 0},
            "deployments": [_deployment("blue"), _deployment("green")],
            "rollout": ROLLOUT,
        }
    ],
}


@dataclass
class Azure:
    standin: Standin
    clock: FakeClock
    project: Path

    def run(self, *args: str) -> Any:
        return CliRunner().invoke(
            app,
            ["rollout", "--stack", STACK, "--endpoint", "ep-azr", *args],
            env={"COLUMNS": "200", "NO_COLOR": "1"},
        )

    def run_command(self, command: str) -> Any:
        return CliRunner().invoke(
            app,
            ["rollout", command, "--stack", STACK, "--endpoint", "ep-azr"],
            env={"COLUMNS": "200", "NO_COLOR": "1"},
        )

    def writes(self) -> list[dict[str, int]]:
        """The live split after each write of the endpoint Azure committed, in order."""
        return [
            change.traffic["ep-azr"]
            for change in self.standin.state.history
            if change.label == "rollout" and change.request == "PUT endpoint ep-azr"
        ]

    def stack_traffic(self) -> dict[str, Any]:
        doc = yaml.safe_load((self.project / "stacks" / f"Pulumi.{STACK}.yaml").read_text())
        endpoint: dict[str, Any] = doc["config"]["amlkit:online_endpoints"][0]
        return endpoint


@pytest.fixture
def azure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Azure]:
    (tmp_path / "project").mkdir()
    project = make_project(tmp_path / "project", score="", weights="w", stacks={STACK: CONFIG})
    (project / "request.json").write_text(json.dumps({"data": [[1, 2]]}))
    with serve(tmp_path) as standin:
        clock = FakeClock()
        standin.state.monitor.clock = clock.now
        standin.state.monitor.lag = timedelta(minutes=3)
        standin.state.monitor.latency_ms = {"blue": 60.0, "green": 70.0}
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(standin.ca_file))
        monkeypatch.setenv("AMLKIT_ARM_ENDPOINT", standin.base_url)
        monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUBSCRIPTION)
        monkeypatch.chdir(project)
        # What cannot run here: Microsoft Entra (the stand-in's token instead of
        # DefaultAzureCredential's) and the wall clock (bakes of five minutes).
        monkeypatch.setattr("amlkit.rollout.azure.default_credential", standin_credential)
        monkeypatch.setattr(
            importlib.import_module("amlkit.cli.rollout"), "_clock", lambda recorded=None: clock
        )
        make_endpoint(
            ArmClient(standin_credential(), standin.base_url),
            ENDPOINT_ID,
            {"blue": 100, "green": 0},
        )
        standin.state.label = "rollout"
        yield Azure(standin, clock, project)


def test_a_healthy_candidate_reaches_100_through_every_step(azure: Azure) -> None:
    result = azure.run("--report", "rollout.json")

    assert result.exit_code == EXIT_OK, result.output
    assert azure.writes() == [
        {"blue": 90, "green": 10},
        {"blue": 50, "green": 50},
        {"blue": 0, "green": 100},
    ]
    assert azure.standin.state.online.live()["ep-azr"] == {"blue": 0, "green": 100}
    # The smoke phase went to the candidate only, through the scoring URI and its key.
    assert azure.standin.state.monitor.scored == {"green": 4}
    report = json.loads((azure.project / "rollout.json").read_text())
    assert report["outcome"] == "promoted"
    steps = [s for s in report["steps"] if s["phase"] == "step"]
    assert [s["percent"] for s in steps] == [10, 50, 100]
    # Each window: five minutes of the candidate's share of 600 requests a minute.
    assert [s["readings"]["green"]["statuses"] for s in steps] == [
        {"2xx": 300},
        {"2xx": 1500},
        {"2xx": 3000},
    ]
    # Every window was read once Azure Monitor's lag had passed: 3 x (5 + 3) minutes.
    assert sum(azure.clock.slept) == 3 * (5 + 3) * 60
    endpoint = azure.stack_traffic()
    assert endpoint["traffic"] == azure.standin.state.online.live()["ep-azr"]
    assert "mirror_traffic" not in endpoint


def test_a_candidate_failing_one_request_in_five_is_rolled_back_at_the_first_gate(
    azure: Azure,
) -> None:
    azure.standin.state.monitor.fail_every = {"green": 5}
    azure.standin.state.monitor.error_rate = {"green": 0.2}

    result = azure.run("--report", "rollout.json")

    assert result.exit_code == EXIT_CHECK_FAILED, result.output
    assert azure.writes() == [{"blue": 90, "green": 10}, {"blue": 100, "green": 0}]
    assert azure.standin.state.online.live()["ep-azr"] == {"blue": 100, "green": 0}
    assert azure.standin.state.online.mirrored()["ep-azr"] == {}
    # Four smoke requests passed (the fifth would have failed): the gate caught it.
    assert azure.standin.state.monitor.scored == {"green": 4}
    report = json.loads((azure.project / "rollout.json").read_text())
    assert report["outcome"] == "rolled_back"
    (step,) = [s for s in report["steps"] if s["phase"] == "step"]
    assert step["percent"] == 10 and step["verdict"] == "fail"
    assert step["readings"]["green"]["statuses"] == {"2xx": 240, "5xx": 60}
    # Rolled back after one gate interval and the lag: nothing more was baked.
    assert sum(azure.clock.slept) == (5 + 3) * 60
    assert azure.stack_traffic()["traffic"] == {"blue": 100, "green": 0}
    assert "error_rate 0.2 > 0.05" in " ".join(result.output.split())


def test_a_shadow_phase_mirrors_to_the_candidate_then_turns_the_mirror_off(
    azure: Azure,
) -> None:
    result = azure.run("--report", "rollout.json", "--steps", "100")
    assert result.exit_code == EXIT_OK, result.output
    # The --steps override keeps the file's shadow-less spec: no mirror was written.
    assert all(not c.mirror.get("ep-azr") for c in azure.standin.state.history)

    stack = azure.project / "stacks" / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(stack.read_text())
    doc["config"]["amlkit:online_endpoints"][0]["traffic"] = {"blue": 100, "green": 0}
    doc["config"]["amlkit:online_endpoints"][0]["rollout"]["shadow"] = {
        "percent": 20,
        "duration": "PT5M",
    }
    stack.write_text(yaml.safe_dump(doc))
    ArmClient(standin_credential(), azure.standin.base_url).put(
        ENDPOINT_ID,
        {
            "location": "westeurope",
            "kind": "Managed",
            "properties": {"authMode": "Key", "traffic": {"blue": 100, "green": 0}},
        },
    )
    start = len(azure.standin.state.history)

    result = azure.run("--report", "rollout.json", "--state", "second.json")

    assert result.exit_code == EXIT_OK, result.output
    writes = [
        (c.traffic["ep-azr"], c.mirror["ep-azr"])
        for c in azure.standin.state.history[start:]
        if c.request == "PUT endpoint ep-azr"
    ]
    assert writes == [
        ({"blue": 100, "green": 0}, {"green": 20}),
        ({"blue": 90, "green": 10}, {}),
        ({"blue": 50, "green": 50}, {}),
        ({"blue": 0, "green": 100}, {}),
    ]
    report = json.loads((azure.project / "rollout.json").read_text())
    (shadow,) = [s for s in report["steps"] if s["phase"] == "shadow"]
    # The stand-in counts mirrored requests under the candidate (an assumption on Azure).
    assert shadow["readings"]["green"]["statuses"] == {"2xx": 600}
    endpoint = azure.stack_traffic()
    assert endpoint["traffic"] == {"blue": 0, "green": 100}
    assert "mirror_traffic" not in endpoint


def test_without_monitoring_reader_the_rollout_rolls_back_and_says_why(azure: Azure) -> None:
    azure.standin.state.monitor.authorized = False

    result = azure.run("--report", "rollout.json")

    # Azure Monitor's 403 at the first window is a failure like a failed gate: the
    # pre-rollout split is written back at once, not left half-shifted.
    assert result.exit_code == EXIT_CHECK_FAILED, result.output
    assert azure.writes() == [{"blue": 90, "green": 10}, {"blue": 100, "green": 0}]
    assert azure.standin.state.online.live()["ep-azr"] == {"blue": 100, "green": 0}
    assert azure.standin.state.online.mirrored()["ep-azr"] == {}
    said = " ".join(result.output.split())  # however the console wrapped it
    assert (
        "rolled_back - step 10%: Azure Monitor refused metrics RequestsPerMinute of ep-azr: "
        in said
    )
    assert "AuthorizationFailed" in said and "'microsoft.insights/metrics/read'" in said
    report = json.loads((azure.project / "rollout.json").read_text())
    assert report["outcome"] == "rolled_back"
    assert report["reason"].startswith("step 10%: Azure Monitor refused metrics")
    assert [w["why"] for w in report["writes"]] == ["step 10%", "rollback: pre-rollout split"]
    assert azure.stack_traffic()["traffic"] == {"blue": 100, "green": 0}
    # Nothing is left for a person to put back.
    aborted = azure.run_command("abort")
    assert aborted.exit_code == EXIT_BAD_CONFIG
    assert "already ended (rolled_back)" in " ".join(aborted.output.split())


def test_a_refused_rollback_write_leaves_the_rollout_running_and_names_abort(
    azure: Azure, monkeypatch: pytest.MonkeyPatch
) -> None:
    azure.standin.state.monitor.fail_every = {"green": 5}
    azure.standin.state.monitor.error_rate = {"green": 0.2}
    sleep = azure.clock.sleep

    def role_removed_while_baking(seconds: float) -> None:
        azure.standin.state.writes_authorized = False
        sleep(seconds)

    monkeypatch.setattr(azure.clock, "sleep", role_removed_while_baking)

    result = azure.run("--report", "rollout.json")

    # The gate failed and Azure refused the rollback: the split stays where it is, the
    # state says running, and the message names the command and the split to restore.
    assert result.exit_code == EXIT_CHECK_FAILED, result.output
    assert azure.writes() == [{"blue": 90, "green": 10}]
    assert azure.standin.state.online.live()["ep-azr"] == {"blue": 90, "green": 10}
    said = " ".join(result.output.split())
    assert "step 10%: error_rate 0.2 > 0.05; writing the pre-rollout split back failed too" in said
    assert "onlineEndpoints/write" in said
    assert (
        "run amlkit rollout abort --stack azt --endpoint ep-azr to write the pre-rollout "
        "split back (blue 100%)" in said
    )
    report = json.loads((azure.project / "rollout.json").read_text())
    assert report["outcome"] == "running" and report["final_split"] is None
    assert azure.stack_traffic()["traffic"] == {"blue": 100, "green": 0}  # not rewritten
    status = azure.run_command("status")
    assert status.exit_code == EXIT_OK and "running" in status.output

    azure.standin.state.writes_authorized = True
    aborted = azure.run_command("abort")

    assert aborted.exit_code == EXIT_CHECK_FAILED, aborted.output
    assert azure.writes() == [{"blue": 90, "green": 10}, {"blue": 100, "green": 0}]
    assert azure.stack_traffic()["traffic"] == {"blue": 100, "green": 0}
