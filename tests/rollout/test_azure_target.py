"""The Azure target against the stand-ins, over TLS on 127.0.0.1: the split through the
traffic resource's provider, smoke requests to the scoring URI, readings from the Azure
Monitor stand-in (real response shape, numbers from the live split, Azure Monitor's lag)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from amlkit.components.dynamic.arm_client import ArmClient
from amlkit.rollout.azure import AzureEndpoint, AzureTargetError, connect, connect_endpoint
from amlkit.rollout.sources import Split, Target, Window
from amlkit.specs.stack import StackSpec
from tests.azure_standin import Standin, serve, standin_credential
from tests.rollout.azure_env import SUBSCRIPTION, FakeClock, make_endpoint

ENDPOINT = AzureEndpoint(SUBSCRIPTION, "rg-roll", "mlw-roll", "ep-roll")
LAG = timedelta(minutes=3)


@dataclass
class Setup:
    standin: Standin
    clock: FakeClock
    arm: ArmClient
    target: Target


@pytest.fixture
def azure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    with serve(tmp_path) as standin:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(standin.ca_file))
        clock = FakeClock()
        standin.state.monitor.clock = clock.now
        standin.state.monitor.lag = LAG
        arm = ArmClient(standin_credential(), standin.base_url)
        make_endpoint(arm, ENDPOINT.id, {"blue": 100, "green": 0})
        target = connect_endpoint(
            ENDPOINT,
            credential=standin_credential(),
            arm_endpoint=standin.base_url,
            metrics_lag=LAG,
        )
        yield Setup(standin, clock, arm, target)


def _endpoint_puts(standin: Standin) -> list[str]:
    return [r for r in standin.state.requests if r.startswith("PUT") and r.endswith("/ep-roll")]


# ----- traffic -------------------------------------------------------------------------


def test_the_split_is_read_and_written_through_arm(azure: Setup) -> None:
    assert azure.target.traffic.read_split() == Split({"blue": 100, "green": 0}, {})
    before = len(_endpoint_puts(azure.standin))

    azure.target.traffic.write_split(Split({"blue": 80, "green": 20}))
    azure.target.traffic.write_split(Split({"blue": 100}, {"green": 10}))

    assert len(_endpoint_puts(azure.standin)) == before + 2
    assert azure.standin.state.online.live()["ep-roll"] == {"blue": 100, "green": 0}
    assert azure.standin.state.online.mirrored()["ep-roll"] == {"green": 10}
    assert azure.target.traffic.read_split() == Split({"blue": 100, "green": 0}, {"green": 10})
    # What else the endpoint holds is left as Azure holds it (the provider's GET-then-PUT).
    held = azure.arm.get(ENDPOINT.id)
    assert held is not None and held["properties"]["authMode"] == "Key"


def test_a_split_azure_would_refuse_is_refused_before_anything_is_sent(azure: Setup) -> None:
    before = list(azure.standin.state.requests)
    with pytest.raises(AzureTargetError, match="mirrors at most 50%"):
        azure.target.traffic.write_split(Split({"blue": 100}, {"green": 60}))
    assert not [r for r in azure.standin.state.requests[len(before) :] if r.startswith("PUT")]


def test_azure_refusing_a_split_surfaces_with_its_message(azure: Setup) -> None:
    with pytest.raises(AzureTargetError, match=r"writing the split of ep-roll: .*red"):
        azure.target.traffic.write_split(Split({"blue": 50, "red": 50}))
    assert azure.standin.state.online.live()["ep-roll"] == {"blue": 100, "green": 0}


def test_a_missing_endpoint_is_a_clear_error(azure: Setup) -> None:
    gone = connect_endpoint(
        AzureEndpoint(SUBSCRIPTION, "rg-roll", "mlw-roll", "nope"),
        credential=standin_credential(),
        arm_endpoint=azure.standin.base_url,
    )
    with pytest.raises(AzureTargetError, match=r"onlineEndpoints/nope does not exist"):
        gone.traffic.read_split()


# ----- smoke requests ------------------------------------------------------------------


@pytest.mark.parametrize("auth_mode", ["Key", "AMLToken", "AADToken"])
def test_smoke_requests_reach_the_named_deployment_with_the_endpoint_credential(
    azure: Setup, auth_mode: str
) -> None:
    if auth_mode != "Key":
        make_endpoint(azure.arm, ENDPOINT.id, {"blue": 100, "green": 0}, auth_mode=auth_mode)
    mode = {"Key": "key", "AMLToken": "aml_token", "AADToken": "aad_token"}[auth_mode]
    target = connect_endpoint(
        AzureEndpoint(SUBSCRIPTION, "rg-roll", "mlw-roll", "ep-roll", auth_mode=mode),  # type: ignore[arg-type]
        credential=standin_credential(),
        arm_endpoint=azure.standin.base_url,
    )
    azure.standin.state.monitor.fail_every = {"green": 5}
    assert target.prober is not None

    statuses = target.prober.send("green", b'{"data": [[1, 2]]}', 6)

    assert statuses == [200, 200, 200, 200, 500, 200]
    assert azure.standin.state.monitor.scored == {"green": 6}
    assert any(r.endswith("/listKeys") for r in azure.standin.state.requests) == (
        auth_mode == "Key"
    )
    assert any(r.endswith("/ep-roll/token") for r in azure.standin.state.requests) == (
        auth_mode == "AMLToken"
    )


def test_smoke_requests_to_an_unknown_deployment_are_answered_404(azure: Setup) -> None:
    assert azure.target.prober is not None
    assert azure.target.prober.send("red", b"{}", 2) == [404, 404]


# ----- readings ------------------------------------------------------------------------


def test_readings_follow_the_live_split_and_the_candidate_error_rate(azure: Setup) -> None:
    scenario = azure.standin.state.monitor
    scenario.error_rate = {"green": 0.2}
    scenario.latency_ms = {"blue": 40.0, "green": 100.0}
    azure.target.traffic.write_split(Split({"blue": 80, "green": 20}))
    window = Window(azure.clock.now(), azure.clock.now() + timedelta(minutes=5))
    azure.clock.sleep((timedelta(minutes=5) + LAG).total_seconds())

    readings = azure.target.metrics.read(["green", "blue"], window)

    # 600 requests a minute at the endpoint: green 20% of them for five minutes.
    assert readings["green"].statuses == {"2xx": 480, "5xx": 120}
    assert readings["green"].error_rate == pytest.approx(0.2)
    assert readings["blue"].statuses == {"2xx": 2400}
    assert readings["blue"].error_rate == 0
    assert readings["green"].latency_ms == {"p50": 100.0, "p90": 150.0, "p95": 200.0, "p99": 300.0}
    assert readings["blue"].latency_ms["p99"] == 120.0
    (query, *_) = scenario.queries
    assert query["$filter"] == "deployment eq '*' and statusCodeClass eq '*'"
    assert query["top"] == "1000" and query["interval"] == "PT1M"
    assert query["timespan"] == "2026-03-02T09:00:00Z/2026-03-02T09:05:00Z"


def test_minutes_azure_monitor_has_not_completed_are_not_counted(azure: Setup) -> None:
    azure.target.traffic.write_split(Split({"blue": 50, "green": 50}))
    window = Window(azure.clock.now(), azure.clock.now() + timedelta(minutes=5))
    # Read right at the window's end, without waiting the lag: 2 of 5 minutes are in.
    azure.clock.sleep(timedelta(minutes=5).total_seconds())
    early = azure.target.metrics.read(["green"], window)
    azure.clock.sleep(LAG.total_seconds())
    late = azure.target.metrics.read(["green"], window)

    assert early["green"].requests == 2 * 300
    assert late["green"].requests == 5 * 300
    assert azure.target.metrics.lag == LAG


def test_a_deployment_without_traffic_has_empty_readings(azure: Setup) -> None:
    window = Window(azure.clock.now(), azure.clock.now() + timedelta(minutes=2))
    azure.clock.sleep(timedelta(minutes=10).total_seconds())
    readings = azure.target.metrics.read(["green", "blue"], window)
    assert readings["green"].requests == 0 and readings["green"].error_rate is None
    assert readings["green"].latency_ms == {}
    assert readings["blue"].requests == 1200


def test_gates_by_azure_metric_name_read_the_endpoint_and_the_deployment(azure: Setup) -> None:
    scenario = azure.standin.state.monitor
    scenario.deployment_metrics = {"CpuUtilizationPercentage": {"green": 73.5, "blue": 20.0}}
    scenario.latency_ms = {"green": 80.0}
    azure.target.traffic.write_split(Split({"blue": 90, "green": 10}))
    window = Window(azure.clock.now(), azure.clock.now() + timedelta(minutes=3))
    azure.clock.sleep(timedelta(minutes=6).total_seconds())

    names = ["CpuUtilizationPercentage", "RequestsPerMinute", "RequestLatency_P95"]
    readings = azure.target.metrics.read(["green", "blue"], window, names)

    assert readings["green"].metrics == {
        "CpuUtilizationPercentage": 73.5,
        "RequestsPerMinute": 60.0,
        "RequestLatency_P95": 160.0,
    }
    assert readings["blue"].metrics["CpuUtilizationPercentage"] == 20.0
    deployment_queries = [q for q in scenario.queries if q["metricnames"] == names[0]]
    assert len(deployment_queries) == 2 and all("$filter" not in q for q in deployment_queries)
    assert any(
        r.startswith("GET ") and "/onlineEndpoints/ep-roll/deployments/green/providers/" in r
        for r in azure.standin.state.requests
    )


def test_a_metric_azure_monitor_does_not_know_is_a_clear_error(azure: Setup) -> None:
    window = Window(azure.clock.now(), azure.clock.now() + timedelta(minutes=1))
    with pytest.raises(AzureTargetError) as error:
        azure.target.metrics.read(["green"], window, ["CpuUtilisationPercent"])
    message = str(error.value)
    assert message.startswith(
        "Azure Monitor refused metrics CpuUtilisationPercent of ep-roll deployment green: "
        "BadRequest: Failed to find metric configuration"
    )
    assert "CpuUtilizationPercentage" in message  # Azure's answer lists the valid ones


# ----- connect from the stack ----------------------------------------------------------


def test_connect_names_the_endpoint_as_the_stack_program_does(
    azure: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = StackSpec.model_validate(
        {
            "environment": {"name": "roll", "location": "westeurope"},
            "online_endpoints": [{"name": "ep-roll", "auth_mode": "aml_token"}],
        }
    )
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUBSCRIPTION)
    target = connect(
        stack, "ep-roll", credential=standin_credential(), arm_endpoint=azure.standin.base_url
    )
    assert target.where == (
        f"azure /subscriptions/{SUBSCRIPTION}/resourceGroups/rg-amlkit-roll/providers/"
        "Microsoft.MachineLearningServices/workspaces/mlw-amlkit-roll/onlineEndpoints/ep-roll"
    )
    assert target.metrics.lag == timedelta(minutes=3)
    with pytest.raises(AzureTargetError, match=r"'nope' is not in the stack .*ep-roll"):
        connect(stack, "nope", credential=standin_credential())
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID")
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    with pytest.raises(AzureTargetError, match="set ARM_SUBSCRIPTION_ID"):
        connect(stack, "ep-roll", credential=standin_credential())


def test_an_auth_mode_the_endpoint_does_not_have_is_a_clear_error(azure: Setup) -> None:
    # The stack says aml_token, Azure holds a key endpoint: Azure refuses the token.
    target = connect_endpoint(
        AzureEndpoint(SUBSCRIPTION, "rg-roll", "mlw-roll", "ep-roll", auth_mode="aml_token"),
        credential=standin_credential(),
        arm_endpoint=azure.standin.base_url,
    )
    assert target.prober is not None
    with pytest.raises(AzureTargetError) as error:
        target.prober.send("green", b"{}", 1)
    assert str(error.value) == (
        f"smoke requests to ep-roll: POST https://127.0.0.1:{azure.standin.base_url.rsplit(':', 1)[1]}"
        f"{ENDPOINT.id}/token: 400 BadRequest: token auth is off"
    )
    assert azure.standin.state.monitor.scored == {}
