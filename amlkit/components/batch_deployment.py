"""A batch deployment: of a model on a compute cluster, or of a pipeline component.

Settings keep Azure ML's batch semantics and defaults (mini-batch size in files,
concurrency per instance, error threshold, retries with an ISO-8601 timeout,
`append_row` into `output_file_name` or `summary_only`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.batch_deployment import BatchDeploymentSpec
from amlkit.specs.pipeline_batch_deployment import PipelineBatchDeploymentSpec
from amlkit.specs.stack import StackEnvironment

from .asset_catalog import AssetIds
from .durations import iso_seconds
from .tags import stack_tags
from .workspace_ref import WorkspaceRef

_LOGGING = {"debug": "Debug", "info": "Info", "warning": "Warning"}
_OUTPUT = {"append_row": "AppendRow", "summary_only": "SummaryOnly"}


@dataclass(frozen=True)
class BatchDeploymentArgs:
    spec: BatchDeploymentSpec | PipelineBatchDeploymentSpec
    endpoint_name: pulumi.Input[str]
    environment: StackEnvironment
    workspace: WorkspaceRef
    compute_ids: Mapping[str, pulumi.Input[str]]
    """The stack's clusters, by name -> ARM id."""
    assets: AssetIds
    """The ids of this deployment's model, code and environment."""


class BatchDeployment(pulumi.ComponentResource):
    deployment_id: pulumi.Output[str]
    deployment: ml.BatchDeployment
    """The Azure resource, for the default-deployment seam to depend on."""

    def __init__(
        self, name: str, args: BatchDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:BatchDeployment", name, None, opts)
        if isinstance(args.spec, PipelineBatchDeploymentSpec):
            deployment = self._pipeline(name, args, args.spec)
        else:
            deployment = self._model(name, args, args.spec)
        self.deployment = deployment
        self.deployment_id = deployment.id
        self.register_outputs({"deployment_id": self.deployment_id})

    def _model(
        self, name: str, args: BatchDeploymentArgs, spec: BatchDeploymentSpec
    ) -> ml.BatchDeployment:
        ws, settings = args.workspace, spec.settings
        compute = (
            spec.compute
            if spec.compute.startswith("/subscriptions/")
            else args.compute_ids[spec.compute_name]
        )
        model_id = args.assets.model_id
        deployment = ml.BatchDeployment(
            name,
            deployment_name=spec.name,
            endpoint_name=args.endpoint_name,
            resource_group_name=ws.resource_group_name,
            workspace_name=ws.workspace_name,
            location=ws.location,
            properties=ml.BatchDeploymentPropertiesArgs(
                description=spec.description,
                compute=compute,
                model=ml.IdAssetReferenceArgs(reference_type="Id", asset_id=model_id)
                if model_id is not None
                else None,
                code_configuration=ml.CodeConfigurationArgs(
                    code_id=args.assets.code_id,
                    scoring_script=spec.code_configuration.scoring_script,
                )
                if spec.code_configuration is not None
                else None,
                environment_id=args.assets.environment_id,
                environment_variables=dict(settings.environment_variables) or None,
                resources=ml.DeploymentResourceConfigurationArgs(
                    instance_count=settings.instance_count or spec.resources.instance_count
                ),
                max_concurrency_per_instance=settings.max_concurrency_per_instance,
                mini_batch_size=settings.mini_batch_size,
                error_threshold=settings.error_threshold,
                logging_level=_LOGGING[settings.logging_level],
                output_action=_OUTPUT[settings.output_action],
                output_file_name=settings.output_file_name
                if settings.output_action == "append_row"
                else None,
                retry_settings=ml.BatchRetrySettingsArgs(
                    max_retries=settings.retry_settings.max_retries,
                    timeout=iso_seconds(settings.retry_settings.timeout),
                ),
                properties=spec.properties or None,
            ),
            tags={**stack_tags(args.environment), **spec.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return deployment

    def _pipeline(
        self, name: str, args: BatchDeploymentArgs, spec: PipelineBatchDeploymentSpec
    ) -> ml.BatchDeployment:
        """The body azure-ai-ml's `PipelineComponentBatchDeployment._to_rest_object` builds:
        the deployment configuration, and the four model-deployment settings it always
        sends with their defaults. No `compute`: the steps run on `settings.default_compute`,
        which is sent as written, once the cluster it names exists."""
        ws = args.workspace
        if args.assets.component_id is None:  # the catalog registers every pipeline use
            raise ValueError(f"amlkit bug: deployment {spec.name!r} has no component id")
        local = spec.local_component
        cluster = spec.settings.compute_name
        settings: pulumi.Input[dict[str, str]] = spec.settings.rest()
        if cluster is not None and cluster in args.compute_ids:
            # The settings carry the cluster's name; the dependency is on its id.
            settings = pulumi.Output.from_input(args.compute_ids[cluster]).apply(
                lambda _: spec.settings.rest()
            )
        return ml.BatchDeployment(
            name,
            deployment_name=spec.name,
            endpoint_name=args.endpoint_name,
            resource_group_name=ws.resource_group_name,
            workspace_name=ws.workspace_name,
            location=ws.location,
            # A TypedDict, not the Args class: the Args class would add `loggingLevel`
            # and `outputAction` defaults that az ml does not send for a pipeline.
            properties=ml.BatchDeploymentPropertiesArgsDict(
                description=spec.description,
                deployment_configuration=ml.BatchPipelineComponentDeploymentConfigurationArgsDict(
                    deployment_configuration_type="PipelineComponent",
                    component_id=ml.IdAssetReferenceArgsDict(
                        reference_type="Id", asset_id=args.assets.component_id
                    ),
                    settings=settings,
                    tags=(dict(local.tags) or None) if local is not None else None,
                    description=local.description if local is not None else None,
                ),
                error_threshold=-1,
                max_concurrency_per_instance=1,
                mini_batch_size=10,
                output_file_name="predictions.csv",
            ),
            tags={**stack_tags(args.environment), **spec.tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
