"""An online deployment (managed or Kubernetes) of one model behind an endpoint.

Every CLI v2 field of the spec is carried to ARM: seconds and milliseconds become
ISO-8601 durations, instance_count becomes `sku.capacity`, probes and request
settings are always sent (Azure's defaults written out, so a plan shows them).
Deployments on the stack's scoring image also get the request settings as the
environment variables amlkit-serve reads, so the server enforces what Azure's
front end enforces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.online_deployment import (
    DataCollector,
    OnlineDeploymentSpec,
    ProbeSettings,
    ResourceList,
    ScaleSettings,
)
from amlkit.specs.stack import StackEnvironment

from .asset_catalog import AssetIds
from .autoscale import Autoscale, AutoscaleArgs
from .durations import iso_milliseconds, iso_seconds
from .tags import stack_tags
from .workspace_ref import WorkspaceRef

_ROLLING_RATE = {"minute": "Minute", "hour": "Hour", "day": "Day", "month": "Month", "year": "Year"}


@dataclass(frozen=True)
class OnlineDeploymentArgs:
    spec: OnlineDeploymentSpec
    endpoint_name: pulumi.Input[str]
    endpoint_kind: Literal["managed", "kubernetes"]
    environment: StackEnvironment
    workspace: WorkspaceRef
    assets: AssetIds
    """The ids of this deployment's model, code and environment."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist first, e.g. the role assignments that let it pull its image."""


class OnlineDeployment(pulumi.ComponentResource):
    deployment_id: pulumi.Output[str]
    deployment_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: OnlineDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:OnlineDeployment", name, None, opts)
        spec, ws = args.spec, args.workspace
        common = dict(
            description=spec.description,
            app_insights_enabled=spec.app_insights_enabled,
            model=args.assets.model_id,
            model_mount_path=spec.model_mount_path,
            code_configuration=ml.CodeConfigurationArgs(
                code_id=args.assets.code_id,
                scoring_script=spec.code_configuration.scoring_script,
            )
            if spec.code_configuration is not None
            else None,
            environment_id=args.assets.environment_id,
            environment_variables=spec.runtime_variables() or None,
            instance_type=spec.instance_type,
            liveness_probe=_probe(spec.liveness_probe),
            readiness_probe=_probe(spec.readiness_probe),
            request_settings=ml.OnlineRequestSettingsArgs(
                request_timeout=iso_milliseconds(spec.request_settings.request_timeout_ms),
                max_concurrent_requests_per_instance=spec.request_settings.max_concurrent_requests_per_instance,
                max_queue_wait=iso_milliseconds(spec.request_settings.max_queue_wait_ms)
                if spec.request_settings.max_queue_wait_ms is not None
                else None,
            ),
            scale_settings=_scale(spec.scale_settings),
            data_collector=_data_collector(spec.data_collector, args.assets),
            properties=spec.sent_properties() or None,
        )
        properties: ml.ManagedOnlineDeploymentArgs | ml.KubernetesOnlineDeploymentArgs
        if args.endpoint_kind == "kubernetes":
            properties = ml.KubernetesOnlineDeploymentArgs(
                endpoint_compute_type="Kubernetes",
                container_resource_requirements=_resources(spec),
                **common,  # type: ignore[arg-type]
            )
            if spec.instance_type is None:
                # The Args class fills in `Standard_F4s_v2`, a managed VM size and no instance
                # type of a Kubernetes cluster. Left out, Azure uses the cluster's default
                # instance type, as `az ml` does (tests/plan/test_azure_fidelity.py).
                pulumi.set(properties, "instance_type", None)
        else:
            properties = ml.ManagedOnlineDeploymentArgs(
                endpoint_compute_type="Managed",
                egress_public_network_access="Disabled"
                if spec.egress_public_network_access == "disabled"
                else "Enabled",
                **common,  # type: ignore[arg-type]
            )
        deployment = ml.OnlineDeployment(
            name,
            deployment_name=spec.name,
            endpoint_name=args.endpoint_name,
            resource_group_name=ws.resource_group_name,
            workspace_name=ws.workspace_name,
            location=ws.location,
            kind="Managed" if args.endpoint_kind == "managed" else "Kubernetes",
            sku=ml.SkuArgs(name="Default", capacity=spec.instance_count or 1),
            properties=properties,
            tags={**stack_tags(args.environment), **spec.tags},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        if spec.autoscale is not None and spec.autoscale.enabled:
            Autoscale(
                f"{name}-autoscale",
                AutoscaleArgs(
                    spec=spec.autoscale,
                    deployment_id=deployment.id,
                    endpoint_name=args.endpoint_name,
                    deployment_name=spec.name,
                    environment=args.environment,
                    resource_group_name=ws.resource_group_name,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.deployment_id = deployment.id
        self.deployment_name = deployment.name
        self.register_outputs({"deployment_id": self.deployment_id})


def _probe(probe: ProbeSettings) -> ml.ProbeSettingsArgs:
    return ml.ProbeSettingsArgs(
        initial_delay=iso_seconds(probe.initial_delay),
        period=iso_seconds(probe.period),
        timeout=iso_seconds(probe.timeout),
        success_threshold=probe.success_threshold,
        failure_threshold=probe.failure_threshold,
    )


def _scale(
    scale: ScaleSettings | None,
) -> ml.DefaultScaleSettingsArgs | ml.TargetUtilizationScaleSettingsArgs:
    if scale is None or scale.type == "default":
        return ml.DefaultScaleSettingsArgs(scale_type="Default")
    return ml.TargetUtilizationScaleSettingsArgs(
        scale_type="TargetUtilization",
        min_instances=scale.min_instances,
        max_instances=scale.max_instances,
        polling_interval=iso_seconds(scale.polling_interval),
        target_utilization_percentage=scale.target_utilization_percentage,
    )


def _data_collector(
    collector: DataCollector | None, assets: AssetIds
) -> ml.DataCollectorArgs | None:
    """Each collection with the id of the data asset the catalog registered for it
    (az ml registers one a collection before the deployment and sends it as `dataId`)."""
    if collector is None:
        return None
    collections = {
        name: ml.CollectionArgs(
            data_collection_mode="Enabled" if collection.enabled == "true" else "Disabled",
            client_id=collection.client_id,
            data_id=assets.data_ids[name],
            sampling_rate=collector.sampling_rate,
        )
        for name, collection in collector.collections.items()
    }
    return ml.DataCollectorArgs(
        collections=collections,
        rolling_rate=_ROLLING_RATE[collector.rolling_rate],
        request_logging=ml.RequestLoggingArgs(
            capture_headers=list(collector.request_logging.capture_headers)
        )
        if collector.request_logging
        else None,
    )


def _settings(resources: ResourceList | None) -> ml.ContainerResourceSettingsArgs | None:
    if resources is None:
        return None
    return ml.ContainerResourceSettingsArgs(
        cpu=resources.cpu, memory=resources.memory, gpu=resources.nvidia_gpu
    )


def _resources(spec: OnlineDeploymentSpec) -> ml.ContainerResourceRequirementsArgs | None:
    if spec.resources is None:
        return None
    return ml.ContainerResourceRequirementsArgs(
        container_resource_requests=_settings(spec.resources.requests),
        container_resource_limits=_settings(spec.resources.limits),
    )
