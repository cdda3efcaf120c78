"""A batch endpoint (CLI v2 `batchEndpoint`) with its deployments.

Batch endpoints take Microsoft Entra tokens only (`aad_token`), have no traffic
split, and send every invocation to `defaults.deployment_name`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from .asset_uses import AssetUse, asset_use, pipeline_use
from .base import LowerCase, Spec
from .batch_deployment import BatchDeploymentSpec
from .pipeline_batch_deployment import PipelineBatchDeploymentSpec
from .types import DeploymentName, EndpointName, Tags


def _deployment_kind(value: Any) -> str:
    """`type: pipeline` (any case) is a pipeline-component deployment; anything else,
    `type: model` or the legacy form without `type`, a model deployment."""
    if isinstance(value, PipelineBatchDeploymentSpec):
        return "pipeline-deployment"
    kind = value.get("type") if isinstance(value, dict) else None
    pipeline = isinstance(kind, str) and kind.lower() == "pipeline"
    # Tags no CLI v2 field is named: pydantic puts them in an error's path.
    return "pipeline-deployment" if pipeline else "model-deployment"


AnyBatchDeployment = Annotated[
    Annotated[BatchDeploymentSpec, Tag("model-deployment")]
    | Annotated[PipelineBatchDeploymentSpec, Tag("pipeline-deployment")],
    Discriminator(_deployment_kind),
]
"""A model batch deployment or a pipeline-component one, by `type`."""


class BatchDefaults(Spec):
    deployment_name: DeploymentName | None = None


class BatchEndpointSpec(Spec):
    schema_: str | None = Field(default=None, alias="$schema")
    name: EndpointName
    description: str | None = None
    tags: Tags = {}
    properties: dict[str, str] = {}
    auth_mode: Annotated[Literal["aad_token"], LowerCase] = "aad_token"
    """Batch endpoints accept Microsoft Entra tokens only."""
    defaults: BatchDefaults = BatchDefaults()
    """Default deployment; when there is exactly one deployment, it."""
    deployments: Annotated[tuple[AnyBatchDeployment, ...], Field(max_length=20)] = ()

    @model_validator(mode="before")
    @classmethod
    def _explain_auth(cls, data: Any) -> Any:
        if isinstance(data, dict):
            mode = data.get("auth_mode")
            if isinstance(mode, str) and mode.lower() != "aad_token":
                raise ValueError(f"auth_mode {mode!r}: batch endpoints take `aad_token` only")
        return data

    @model_validator(mode="after")
    def _rules(self) -> BatchEndpointSpec:
        names = [d.name for d in self.deployments]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"deployments: names {duplicates} appear more than once")
        for deployment in self.deployments:
            if deployment.endpoint_name not in (None, self.name):
                raise ValueError(
                    f"deployment {deployment.name!r} says endpoint_name "
                    f"{deployment.endpoint_name!r} but sits under endpoint {self.name!r}"
                )
        default = self.defaults.deployment_name
        if default is not None and self.deployments and default not in names:
            raise ValueError(
                f"defaults.deployment_name {default!r} is not a deployment of this endpoint "
                f"(deployments: {names})"
            )
        if default is None and len(self.deployments) > 1:
            raise ValueError(
                "defaults.deployment_name: name which of the deployments gets invocations"
            )
        return self

    def asset_uses(self) -> dict[str, AssetUse]:
        """The models, code and environments of its deployments, by `use_key`."""
        return dict(
            pipeline_use(self.name, d)
            if isinstance(d, PipelineBatchDeploymentSpec)
            else asset_use("batch", self.name, d)
            for d in self.deployments
        )

    @property
    def default_deployment(self) -> str | None:
        if self.defaults.deployment_name:
            return self.defaults.deployment_name
        return self.deployments[0].name if self.deployments else None
