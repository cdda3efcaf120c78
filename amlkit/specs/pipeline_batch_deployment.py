"""A pipeline-component batch deployment (CLI v2 `pipelineComponentBatchDeployment`,
`type: pipeline`): each invocation runs a pipeline component as a pipeline job.

What runs is either `component` (a local pipeline component file, which amlkit
registers with its steps' components and code as `az ml` does, or a registered
`azureml:` reference) or `job_definition` (a pipeline job that ran in the workspace,
`azureml:<job name>` or its ARM id: the component is derived from it, as `az ml`
derives it). `settings` are the pipeline job's settings; Azure's REST model types
them as strings, so amlkit sends `true`/`false` as the strings `"true"`/`"false"`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .assets import ASSET_REFERENCE_PATTERN
from .base import LowerCase, Spec
from .pipeline_component import ComponentReference, PipelineComponentSpec, load_component_file
from .types import DeploymentName, Tags

SERVERLESS = "serverless"

JobReference = Annotated[
    str,
    StringConstraints(
        pattern=r"^(azureml:[A-Za-z0-9_][-A-Za-z0-9_.]*|/subscriptions/.+/jobs/[^/]+)$"
    ),
]
"""A pipeline job of the workspace: `azureml:<job name>` or the job's ARM id."""


class PipelineSettings(Spec):
    """The pipeline job settings each invocation runs with (azure-ai-ml's
    `PipelineJobSettings`); unset ones are not sent and Azure's defaults apply."""

    default_compute: Annotated[str, StringConstraints(min_length=1)]
    """Where steps without their own `compute` run: `azureml:<cluster>` or `<cluster>`
    (a cluster of this stack), a compute's ARM id, or `serverless`. Required: a batch
    invocation carries no compute of its own."""
    default_datastore: Annotated[str, StringConstraints(min_length=1)] | None = None
    """Where outputs without a path are written; default: the workspace's default datastore."""
    continue_on_step_failure: StrictBool | None = None
    """Whether independent steps go on after one fails; Azure's default: false."""
    force_rerun: StrictBool | None = None
    """Run every step again instead of reusing earlier results; Azure's default: false."""

    @property
    def compute_name(self) -> str | None:
        """The stack cluster `default_compute` names; None for an ARM id or serverless."""
        value = self.default_compute
        if value.startswith("/subscriptions/") or value.lower() == SERVERLESS:
            return None
        return value.removeprefix("azureml:")

    def rest(self) -> dict[str, str]:
        """As sent: Azure's model types settings `dict[str, str]`; booleans as `true`/`false`."""
        values = self.model_dump(exclude_none=True)
        return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in values.items()}


class PipelineBatchDeploymentSpec(Spec):
    """Every pipeline-component batch deployment field of CLI v2."""

    schema_: str | None = Field(default=None, alias="$schema")
    name: DeploymentName
    endpoint_name: str | None = None
    type: Annotated[Literal["pipeline"], LowerCase]
    description: str | None = None
    tags: Tags = {}
    component: PipelineComponentSpec | ComponentReference | None = None
    """A local pipeline component file (relative to this file), or `azureml:` reference."""
    job_definition: JobReference | None = None
    """A pipeline job that ran in the workspace; the deployment runs its graph."""
    settings: PipelineSettings

    @field_validator("component", mode="before")
    @classmethod
    def _component_file(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            raise ValueError(
                "must name a pipeline component file or a registered `azureml:` component, "
                "not hold one inline (as in az ml)"
            )
        if not isinstance(value, str) or re.match(ASSET_REFERENCE_PATTERN, value):
            return value
        return load_component_file(value, info, PipelineComponentSpec)

    @field_validator("job_definition", mode="before")
    @classmethod
    def _job_by_name(cls, value: Any) -> Any:
        if isinstance(value, dict):
            name = value.get("name")
            hint = f" (here: azureml:{name})" if isinstance(name, str) and name else ""
            raise ValueError(
                "name the pipeline job as `azureml:<job name>`" + hint + ": az ml reads an "
                "inline job only to look up the job of that name in the workspace, so its "
                "other fields would never reach Azure"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _settings_given(cls, data: Any) -> Any:
        if isinstance(data, dict) and "settings" not in data:
            raise ValueError(
                "settings.default_compute is required: the cluster the pipeline's steps run "
                "on (`azureml:<cluster>` of this stack, a compute's ARM id, or `serverless`)"
            )
        return data

    @model_validator(mode="after")
    def _one_source(self) -> PipelineBatchDeploymentSpec:
        if (self.component is None) == (self.job_definition is None):
            raise ValueError(
                "give exactly one of `component` (a pipeline component file or `azureml:` "
                "reference) and `job_definition` (`azureml:<pipeline job name>`)"
            )
        return self

    @property
    def local_component(self) -> PipelineComponentSpec | None:
        return self.component if isinstance(self.component, PipelineComponentSpec) else None

    @property
    def on_scoring_image(self) -> bool:
        """The stack's scoring image never runs a pipeline: its steps bring their own."""
        return False
