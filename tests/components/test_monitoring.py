"""Monitoring: logs to Log Analytics, metric alerts with the spec's thresholds, receivers."""

from __future__ import annotations

from typing import Any

import pytest

from amlkit.components.monitoring import Monitoring, MonitoringArgs
from amlkit.components.workspace_ref import MonitoringRef
from amlkit.plan.mock_engine import Recording
from amlkit.specs import StackEnvironment
from amlkit.specs.monitoring import MonitoringSpec
from tests.components.conftest import INSIGHTS_ID, SUB, WORKSPACE_ID

LOGS_ID = f"{SUB}/Microsoft.OperationalInsights/workspaces/log-amlkit-test"
ENDPOINT_ID = f"{WORKSPACE_ID}/onlineEndpoints/score"
BLUE_ID = f"{ENDPOINT_ID}/deployments/blue"
ALERT = "azure-native:monitor:MetricAlert"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
SECRET_HOOK = "https://hooks.example.com/services/T0/B0/aZ3kq9VxY2"
SECRET_SIG, SECRET_MARK = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def _monitoring(render: Any, environment: StackEnvironment, spec: dict[str, Any]) -> Recording:
    parsed = MonitoringSpec.model_validate(spec)

    def program() -> None:
        Monitoring(
            "monitoring",
            MonitoringArgs(
                spec=parsed,
                environment=environment,
                resource_group_name="rg-amlkit-test",
                workspace_id=WORKSPACE_ID,
                monitoring=MonitoringRef(
                    log_analytics_workspace_id=LOGS_ID, app_insights_id=INSIGHTS_ID
                ),
                online_endpoints={"score": ENDPOINT_ID},
                online_deployments={("score", "blue"): BLUE_ID},
                deployment_capacity={("score", "blue"): 3},
            ),
        )

    recording: Recording = render(program)
    return recording


@pytest.fixture
def prod_like(render: Any, environment: StackEnvironment) -> Recording:
    return _monitoring(
        render,
        environment,
        {
            "alerts": {
                "request_latency_ms": 400,
                "server_errors_per_minute": 2,
                "cpu_percent": 70,
                "memory_percent": 80,
                "window_minutes": 15,
                "frequency_minutes": 5,
                "severity": 1,
            },
            "action_group": {
                "short_name": "mlops",
                "email_receivers": [{"name": "on-call", "email_address": "oncall@example.com"}],
                "webhook_receivers": [{"name": "chat", "service_uri": SECRET_HOOK}],
            },
        },
    )


def test_logs_go_to_log_analytics(prod_like: Recording) -> None:
    settings = {s.inputs["resourceUri"]: s.inputs for s in prod_like.of_type(DIAGNOSTICS)}
    assert set(settings) == {WORKSPACE_ID, ENDPOINT_ID}
    assert all(s["workspaceId"] == LOGS_ID for s in settings.values())
    assert [(log["category"], log["enabled"]) for log in settings[ENDPOINT_ID]["logs"]] == [
        ("AmlOnlineEndpointTrafficLog", True),
        ("AmlOnlineEndpointConsoleLog", True),
        ("AmlOnlineEndpointEventLog", True),
    ]
    assert settings[WORKSPACE_ID]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    for s in settings.values():
        assert s["metrics"] == [{"category": "AllMetrics", "enabled": True}]


def _criteria(alert: Any) -> dict[str, Any]:
    criteria = alert.inputs["criteria"]
    assert criteria["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    (only,) = criteria["allOf"]
    result: dict[str, Any] = only
    return result


def test_alerts_use_the_spec_thresholds_on_the_right_scope(prod_like: Recording) -> None:
    alerts = {_criteria(a)["metricName"]: a for a in prod_like.of_type(ALERT)}
    expected = {
        # metric: (scope, operator, threshold, aggregation)
        "RequestLatency": (ENDPOINT_ID, "GreaterThan", 400, "Average"),
        # A per-minute count averaged over the window: "2 a minute" whatever the window
        # (a Total over a 5-minute window fires at a fifth of that rate).
        "RequestsPerMinute": (ENDPOINT_ID, "GreaterThan", 2, "Average"),
        "CpuUtilizationPercentage": (BLUE_ID, "GreaterThan", 70, "Average"),
        "CpuMemoryUtilizationPercentage": (BLUE_ID, "GreaterThan", 80, "Average"),
        "DeploymentCapacity": (BLUE_ID, "LessThan", 3, "Minimum"),
    }
    assert set(alerts) == set(expected)
    group = prod_like.one("azure-native:monitor:ActionGroup")
    for metric, (scope, operator, threshold, aggregation) in expected.items():
        alert = alerts[metric]
        criterion = _criteria(alert)
        assert alert.inputs["scopes"] == [scope], metric
        assert (criterion["operator"], criterion["threshold"]) == (operator, threshold), metric
        assert criterion["timeAggregation"] == aggregation, metric
        assert alert.inputs["windowSize"] == "PT15M"
        assert alert.inputs["evaluationFrequency"] == "PT5M"
        assert alert.inputs["severity"] == 1
        assert alert.inputs["actions"] == [{"actionGroupId": group.outputs["id"]}]
    assert _criteria(alerts["RequestsPerMinute"])["dimensions"] == [
        {"name": "statusCodeClass", "operator": "Include", "values": ["5xx"]}
    ]


def test_receivers_and_a_secret_webhook(prod_like: Recording) -> None:
    group = prod_like.one("azure-native:monitor:ActionGroup").inputs
    assert group["groupShortName"] == "mlops"
    assert group["location"] == "Global"
    assert group["emailReceivers"] == [
        {"name": "on-call", "emailAddress": "oncall@example.com", "useCommonAlertSchema": True}
    ]
    (hook,) = group["webhookReceivers"]
    assert hook["serviceUri"] == "[secret]"  # never in clear in the plan
    assert SECRET_HOOK not in repr([r.inputs for r in prod_like.resources])
    # The engine keeps the secret mark on the outputs too (the state stores them encrypted).
    outputs = prod_like.one("azure-native:monitor:ActionGroup").outputs["webhookReceivers"]
    assert outputs[SECRET_SIG] == SECRET_MARK


def test_a_null_threshold_turns_its_alert_off(render: Any, environment: StackEnvironment) -> None:
    rec = _monitoring(
        render,
        environment,
        {
            "alerts": {
                "request_latency_ms": None,
                "memory_percent": None,
                "capacity_below_requested": False,
            }
        },
    )
    metrics = sorted(_criteria(a)["metricName"] for a in rec.of_type(ALERT))
    assert metrics == ["CpuUtilizationPercentage", "RequestsPerMinute"]


def test_frequency_above_window_is_refused() -> None:
    with pytest.raises(ValueError, match="frequency_minutes"):
        MonitoringSpec.model_validate({"alerts": {"window_minutes": 5, "frequency_minutes": 10}})


def test_names_never_collide(render: Any, environment: StackEnvironment) -> None:
    """An endpoint named "workspace"; endpoint a-b/deployment c beside a/deployment b-c."""
    spec = MonitoringSpec()
    endpoints = {n: f"{WORKSPACE_ID}/onlineEndpoints/{n}" for n in ("workspace", "ab-cd", "ab")}
    deployments = {
        ("ab-cd", "efg"): f"{endpoints['ab-cd']}/deployments/efg",
        ("ab", "cd-efg"): f"{endpoints['ab']}/deployments/cd-efg",
    }

    def program() -> None:
        Monitoring(
            "monitoring",
            MonitoringArgs(
                spec=spec,
                environment=environment,
                resource_group_name="rg-amlkit-test",
                workspace_id=WORKSPACE_ID,
                monitoring=MonitoringRef(
                    log_analytics_workspace_id=LOGS_ID, app_insights_id=INSIGHTS_ID
                ),
                online_endpoints=endpoints,
                online_deployments=deployments,
            ),
        )

    rec: Recording = render(program)  # the mock engine refuses duplicate URNs, as the engine does
    assert len(rec.of_type(DIAGNOSTICS)) == 4
    rules = [a.inputs["ruleName"] for a in rec.of_type(ALERT)]
    assert len(rules) == len(set(rules))  # Azure wants them unique in the resource group
    assert len(rules) == 3 * 2 + 2 * 2  # latency + 5xx per endpoint, CPU + memory per deployment
