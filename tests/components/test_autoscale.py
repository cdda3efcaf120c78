"""Autoscale: the spec's bounds, rules and cooldowns reach Azure Monitor as it takes them."""

from __future__ import annotations

from typing import Any

from amlkit.components.autoscale import Autoscale, AutoscaleArgs
from amlkit.plan.mock_engine import Recording
from amlkit.specs import AutoscaleSpec, StackEnvironment
from tests.components.conftest import WORKSPACE_ID

ENDPOINT_ID = f"{WORKSPACE_ID}/onlineEndpoints/score"
DEPLOYMENT_ID = f"{ENDPOINT_ID}/deployments/blue"


def _render(render: Any, environment: StackEnvironment, spec: dict[str, Any]) -> Recording:
    autoscale = AutoscaleSpec.model_validate(spec)

    def program() -> None:
        Autoscale(
            "autoscale-score-blue",
            AutoscaleArgs(
                spec=autoscale,
                deployment_id=DEPLOYMENT_ID,
                endpoint_name="score",
                deployment_name="blue",
                environment=environment,
                resource_group_name="rg-amlkit-test",
            ),
        )

    recording: Recording = render(program)
    return recording


def test_custom_rules_bounds_and_cooldowns(render: Any, environment: StackEnvironment) -> None:
    rec = _render(
        render,
        environment,
        {
            "min_instances": 3,
            "max_instances": 10,
            "default_instances": 4,
            "cpu": {
                "scale_out_above": 60,
                "scale_in_below": 20,
                "window_minutes": 10,
                "cooldown_minutes": 15,
                "change_count": 2,
            },
            "latency": {"scale_out_above_ms": 250, "window_minutes": 3, "cooldown_minutes": 7},
        },
    )
    setting = rec.one("azure-native:monitor:AutoscaleSetting").inputs
    assert setting["autoscaleSettingName"] == "autoscale-score-blue"
    assert setting["resourceGroupName"] == "rg-amlkit-test"
    assert setting["location"] == "westeurope"
    assert setting["enabled"] is True
    assert setting["targetResourceUri"] == DEPLOYMENT_ID
    assert setting["tags"]["managed-by"] == "amlkit"
    (profile,) = setting["profiles"]
    assert profile["name"] == "default"
    assert profile["capacity"] == {"minimum": "3", "maximum": "10", "default": "4"}
    rules = [
        (
            r["metricTrigger"]["metricName"],
            r["metricTrigger"]["metricResourceUri"],
            r["metricTrigger"]["operator"],
            r["metricTrigger"]["threshold"],
            r["metricTrigger"]["timeWindow"],
            r["scaleAction"]["direction"],
            r["scaleAction"]["value"],
            r["scaleAction"]["cooldown"],
        )
        for r in profile["rules"]
    ]
    assert rules == [
        (
            "CpuUtilizationPercentage",
            DEPLOYMENT_ID,
            "GreaterThan",
            60,
            "PT10M",
            "Increase",
            "2",
            "PT15M",
        ),
        (
            "CpuUtilizationPercentage",
            DEPLOYMENT_ID,
            "LessThan",
            20,
            "PT10M",
            "Decrease",
            "2",
            "PT15M",
        ),
        # Latency is the endpoint's metric: the rule reads it there.
        ("RequestLatency", ENDPOINT_ID, "GreaterThan", 250, "PT3M", "Increase", "1", "PT7M"),
    ]
    for rule in profile["rules"]:
        trigger = rule["metricTrigger"]
        assert (trigger["timeGrain"], trigger["statistic"], trigger["timeAggregation"]) == (
            "PT1M",
            "Average",
            "Average",
        )
        assert rule["scaleAction"]["type"] == "ChangeCount"


def test_default_is_min_and_a_setting_can_be_switched_off(
    render: Any, environment: StackEnvironment
) -> None:
    rec = _render(render, environment, {"min_instances": 2, "max_instances": 4, "enabled": False})
    setting = rec.one("azure-native:monitor:AutoscaleSetting").inputs
    assert setting["enabled"] is False
    (profile,) = setting["profiles"]
    assert profile["capacity"] == {"minimum": "2", "maximum": "4", "default": "2"}
    assert [r["metricTrigger"]["metricName"] for r in profile["rules"]] == [
        "CpuUtilizationPercentage",
        "CpuUtilizationPercentage",
    ]
