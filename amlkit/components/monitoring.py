"""Logs, metric alerts and who hears about them.

Diagnostic settings send the workspace's logs and each online endpoint's three
log categories (`AmlOnlineEndpointTrafficLog`, `AmlOnlineEndpointConsoleLog`,
`AmlOnlineEndpointEventLog`) to Log Analytics. Metric alerts follow Azure
Monitor's supported metrics for online endpoints (`RequestLatency`,
`RequestsPerMinute` by `statusCodeClass`) and deployments
(`CpuUtilizationPercentage`, `CpuMemoryUtilizationPercentage`,
`DeploymentCapacity`), each wired to one action group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

from amlkit.specs.monitoring import AlertThresholds, MonitoringSpec
from amlkit.specs.naming import Names
from amlkit.specs.stack import StackEnvironment

from .durations import iso_minutes
from .tags import stack_tags
from .workspace_ref import MonitoringRef

ENDPOINT_LOG_CATEGORIES = (
    "AmlOnlineEndpointTrafficLog",
    "AmlOnlineEndpointConsoleLog",
    "AmlOnlineEndpointEventLog",
)
ENDPOINT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"


@dataclass(frozen=True)
class MonitoringArgs:
    spec: MonitoringSpec
    environment: StackEnvironment
    resource_group_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    monitoring: MonitoringRef
    online_endpoints: Mapping[str, pulumi.Input[str]]
    """Online endpoint name -> ARM id."""
    online_deployments: Mapping[tuple[str, str], pulumi.Input[str]]
    """(endpoint, deployment) -> ARM id."""
    deployment_capacity: Mapping[tuple[str, str], int] | None = None
    """(endpoint, deployment) -> instances it asks for, for the capacity alert."""


@dataclass(frozen=True)
class _Alert:
    key: str
    metric: str
    namespace: str
    operator: str
    threshold: float
    aggregation: str
    description: str
    dimension: tuple[str, str] | None = None


class Monitoring(pulumi.ComponentResource):
    action_group_id: pulumi.Output[str]
    diagnostic_setting_ids: dict[str, pulumi.Output[str]]
    alert_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:Monitoring", name, None, opts)
        self._name = name
        spec, env = args.spec, args.environment
        names = Names(env)
        child = pulumi.ResourceOptions(parent=self)
        logs = args.monitoring.log_analytics_workspace_id

        self.diagnostic_setting_ids = {
            "workspace": monitor.DiagnosticSetting(
                f"{name}-workspace-logs",
                name=names.diagnostic_setting("workspace"),
                resource_uri=args.workspace_id,
                workspace_id=logs,
                logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)],
                metrics=[
                    monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)
                ],
                opts=child,
            ).id
        }
        for endpoint, endpoint_id in args.online_endpoints.items():
            self.diagnostic_setting_ids[endpoint] = monitor.DiagnosticSetting(
                # "-endpoint-logs": an endpoint named "workspace" must not collide
                # with the workspace's own setting above.
                f"{name}-{endpoint}-endpoint-logs",
                name=names.diagnostic_setting(endpoint),
                resource_uri=endpoint_id,
                workspace_id=logs,
                logs=[
                    monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True)
                    for c in ENDPOINT_LOG_CATEGORIES
                ],
                metrics=[
                    monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)
                ],
                opts=child,
            ).id

        group = monitor.ActionGroup(
            f"{name}-action-group",
            action_group_name=names.action_group(),
            resource_group_name=args.resource_group_name,
            location="Global",
            group_short_name=spec.action_group.short_name,
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=r.name, email_address=r.email_address, use_common_alert_schema=True
                )
                for r in spec.action_group.email_receivers
            ],
            webhook_receivers=[
                monitor.WebhookReceiverArgs(
                    name=r.name,
                    service_uri=pulumi.Output.secret(r.service_uri.get_secret_value()),
                    use_common_alert_schema=True,
                )
                for r in spec.action_group.webhook_receivers
            ],
            tags=stack_tags(env),
            opts=child,
        )
        self.action_group_id = group.id

        self.alert_ids = {}
        thresholds = spec.alerts
        for endpoint, endpoint_id in args.online_endpoints.items():
            for alert in _endpoint_alerts(thresholds):
                self._alert(args, names, endpoint, endpoint_id, alert)
        for (endpoint, deployment), deployment_id in args.online_deployments.items():
            requested = (args.deployment_capacity or {}).get((endpoint, deployment))
            for alert in _deployment_alerts(thresholds, requested):
                # "_" appears in no endpoint or deployment name: endpoint a-b with
                # deployment c and endpoint a with deployment b-c get different rules.
                self._alert(args, names, f"{endpoint}_{deployment}", deployment_id, alert)
        self.register_outputs({"action_group_id": self.action_group_id})

    def _alert(
        self,
        args: MonitoringArgs,
        names: Names,
        scope: str,
        resource: pulumi.Input[str],
        alert: _Alert,
    ) -> None:
        alerts = args.spec.alerts
        rule = names.alert(scope, alert.metric if alert.key == alert.metric else alert.key)
        self.alert_ids[rule] = monitor.MetricAlert(
            f"{self._name}-{rule}",
            rule_name=rule,
            resource_group_name=args.resource_group_name,
            location="global",
            description=alert.description,
            severity=alerts.severity,
            enabled=True,
            scopes=[resource],
            evaluation_frequency=iso_minutes(alerts.frequency_minutes),
            window_size=iso_minutes(alerts.window_minutes),
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name=alert.key,
                        metric_name=alert.metric,
                        metric_namespace=alert.namespace,
                        operator=alert.operator,
                        threshold=alert.threshold,
                        time_aggregation=alert.aggregation,
                        dimensions=[
                            monitor.MetricDimensionArgs(
                                name=alert.dimension[0],
                                operator="Include",
                                values=[alert.dimension[1]],
                            )
                        ]
                        if alert.dimension
                        else None,
                    )
                ],
            ),
            actions=[monitor.MetricAlertActionArgs(action_group_id=self.action_group_id)],
            tags=stack_tags(args.environment),
            opts=pulumi.ResourceOptions(parent=self),
        ).id


def _endpoint_alerts(t: AlertThresholds) -> list[_Alert]:
    alerts = []
    if t.request_latency_ms is not None:
        alerts.append(
            _Alert(
                "RequestLatency",
                "RequestLatency",
                ENDPOINT_NAMESPACE,
                "GreaterThan",
                t.request_latency_ms,
                "Average",
                f"Average request latency above {t.request_latency_ms} ms",
            )
        )
    if t.server_errors_per_minute is not None:
        alerts.append(
            _Alert(
                "ServerErrors",
                "RequestsPerMinute",
                ENDPOINT_NAMESPACE,
                "GreaterThan",
                t.server_errors_per_minute,
                "Average",  # of a per-minute count: "a minute", whatever the window
                f"More than {t.server_errors_per_minute} 5xx answers a minute",
                ("statusCodeClass", "5xx"),
            )
        )
    return alerts


def _deployment_alerts(t: AlertThresholds, requested: int | None) -> list[_Alert]:
    alerts = []
    if t.cpu_percent is not None:
        alerts.append(
            _Alert(
                "CpuUtilizationPercentage",
                "CpuUtilizationPercentage",
                DEPLOYMENT_NAMESPACE,
                "GreaterThan",
                t.cpu_percent,
                "Average",
                f"CPU above {t.cpu_percent}%",
            )
        )
    if t.memory_percent is not None:
        alerts.append(
            _Alert(
                "CpuMemoryUtilizationPercentage",
                "CpuMemoryUtilizationPercentage",
                DEPLOYMENT_NAMESPACE,
                "GreaterThan",
                t.memory_percent,
                "Average",
                f"Memory above {t.memory_percent}%",
            )
        )
    if t.capacity_below_requested and requested:
        alerts.append(
            _Alert(
                "DeploymentCapacity",
                "DeploymentCapacity",
                DEPLOYMENT_NAMESPACE,
                "LessThan",
                requested,
                "Minimum",
                f"Fewer than the {requested} instances asked for are running",
            )
        )
    return alerts
