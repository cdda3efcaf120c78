"""Azure Monitor autoscale for a managed online deployment.

Managed online deployments have no autoscale of their own and never scale to
zero; Azure ML's "Autoscale online endpoints" doc attaches a
`Microsoft.Insights/autoscalesettings` resource to the deployment, scaling out
on the deployment's `CpuUtilizationPercentage` and, optionally, on the
endpoint's `RequestLatency`, and back in on low CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

from amlkit.specs.autoscale import AutoscaleSpec
from amlkit.specs.stack import StackEnvironment

from .durations import iso_minutes
from .tags import stack_tags


@dataclass(frozen=True)
class AutoscaleArgs:
    spec: AutoscaleSpec
    deployment_id: pulumi.Input[str]
    endpoint_name: pulumi.Input[str]
    deployment_name: str
    environment: StackEnvironment
    resource_group_name: pulumi.Input[str]


def _rule(
    metric: str,
    resource: pulumi.Input[str],
    operator: str,
    threshold: float,
    window: int,
    direction: str,
    change: int,
    cooldown: int,
) -> monitor.ScaleRuleArgs:
    return monitor.ScaleRuleArgs(
        metric_trigger=monitor.MetricTriggerArgs(
            metric_name=metric,
            metric_resource_uri=resource,
            time_grain="PT1M",
            statistic=monitor.MetricStatisticType.AVERAGE,
            time_window=iso_minutes(window),
            time_aggregation=monitor.TimeAggregationType.AVERAGE,
            operator=monitor.ComparisonOperationType(operator),
            threshold=threshold,
        ),
        scale_action=monitor.ScaleActionArgs(
            direction=monitor.ScaleDirection(direction),
            type=monitor.ScaleType.CHANGE_COUNT,
            value=str(change),
            cooldown=iso_minutes(cooldown),
        ),
    )


class Autoscale(pulumi.ComponentResource):
    """One profile: capacity min/max/default and the CPU (and latency) rules."""

    id: pulumi.Output[str]

    def __init__(
        self, name: str, args: AutoscaleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:Autoscale", name, None, opts)
        spec, cpu = args.spec, args.spec.cpu
        endpoint_id = pulumi.Output.from_input(args.deployment_id).apply(
            lambda i: i.rsplit("/deployments/", 1)[0]
        )
        rules = [
            _rule(
                "CpuUtilizationPercentage",
                args.deployment_id,
                "GreaterThan",
                cpu.scale_out_above,
                cpu.window_minutes,
                "Increase",
                cpu.change_count,
                cpu.cooldown_minutes,
            ),
            _rule(
                "CpuUtilizationPercentage",
                args.deployment_id,
                "LessThan",
                cpu.scale_in_below,
                cpu.window_minutes,
                "Decrease",
                cpu.change_count,
                cpu.cooldown_minutes,
            ),
        ]
        if spec.latency is not None:
            latency = spec.latency
            rules.append(
                _rule(
                    "RequestLatency",
                    endpoint_id,
                    "GreaterThan",
                    latency.scale_out_above_ms,
                    latency.window_minutes,
                    "Increase",
                    latency.change_count,
                    latency.cooldown_minutes,
                )
            )
        default = spec.default_instances or spec.min_instances
        setting = monitor.AutoscaleSetting(
            name,
            autoscale_setting_name=pulumi.Output.concat(
                "autoscale-", args.endpoint_name, "-", args.deployment_name
            ),
            resource_group_name=args.resource_group_name,
            location=args.environment.location,
            enabled=spec.enabled,
            target_resource_uri=args.deployment_id,
            profiles=[
                monitor.AutoscaleProfileArgs(
                    name="default",
                    # Azure takes capacities as strings.
                    capacity=monitor.ScaleCapacityArgs(
                        minimum=str(spec.min_instances),
                        maximum=str(spec.max_instances),
                        default=str(default),
                    ),
                    rules=rules,
                )
            ],
            tags=stack_tags(args.environment),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.id = setting.id
        self.register_outputs({"id": self.id})
