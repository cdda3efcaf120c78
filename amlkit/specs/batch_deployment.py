"""A batch deployment of a model (CLI v2 `modelBatchDeployment`).

Pipeline-component batch deployments (`type: pipeline`) are
`pipeline_batch_deployment.PipelineBatchDeploymentSpec`; `batch_endpoint` tells
the two apart by `type`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictInt, StringConstraints, model_validator

from .assets import CodeConfiguration, EnvironmentRef, ModelRef
from .base import LowerCase, Spec
from .scoring_image import runs_scoring_image
from .types import (
    INT32_MAX,
    DeploymentName,
    EnvironmentVariables,
    NonNegativeInt,
    PositiveInt,
    Seconds,
    Tags,
)

# Settings that the legacy form (no `type`) writes at the root of the file.
LEGACY_ROOT_SETTINGS = (
    "mini_batch_size",
    "max_concurrency_per_instance",
    "error_threshold",
    "logging_level",
    "output_action",
    "output_file_name",
    "retry_settings",
    "environment_variables",
)


def _plain_file_name(name: str) -> str:
    """The runner writes `<output folder>/<name>`: a name, never a path out of it."""
    if name in (".", "..") or any(ch in name for ch in "/\\\x00") or not name.isprintable():
        raise ValueError(
            "must be a plain file name (no folder, `..`, `/`, `\\` or control characters)"
        )
    return name


FileName = Annotated[
    str, StringConstraints(min_length=1, max_length=255), AfterValidator(_plain_file_name)
]


class RetrySettings(Spec):
    max_retries: NonNegativeInt = 3
    timeout: Seconds = 30
    """Seconds one mini-batch may run before it is retried."""


class BatchSettings(Spec):
    """How the runner splits and scores the inputs; Azure ML's defaults."""

    max_concurrency_per_instance: PositiveInt = 1
    mini_batch_size: PositiveInt = 10
    """Files per `run()` call."""
    error_threshold: Annotated[StrictInt, Field(ge=-1, le=INT32_MAX)] = -1
    """Failed items tolerated before the job fails; -1 ignores all failures."""
    logging_level: Annotated[Literal["debug", "info", "warning"], LowerCase] = "info"
    output_action: Annotated[Literal["append_row", "summary_only"], LowerCase] = "append_row"
    output_file_name: FileName = "predictions.csv"
    """The file `append_row` writes in the job's output folder."""
    retry_settings: RetrySettings = RetrySettings()
    environment_variables: EnvironmentVariables = {}
    instance_count: PositiveInt | None = None

    @model_validator(mode="after")
    def _file_name_used(self) -> BatchSettings:
        if self.output_action == "summary_only" and "output_file_name" in self.model_fields_set:
            raise ValueError(
                "output_file_name: only `output_action: append_row` writes a file; "
                "summary_only would never send it"
            )
        return self


class BatchResources(Spec):
    instance_count: PositiveInt = 1


class BatchDeploymentSpec(Spec):
    """Every model batch deployment field of CLI v2."""

    schema_: str | None = Field(default=None, alias="$schema")
    name: DeploymentName
    endpoint_name: str | None = None
    type: Annotated[Literal["model"], LowerCase] | None = "model"
    description: str | None = None
    tags: Tags = {}
    properties: dict[str, str] = {}
    model: ModelRef
    code_configuration: CodeConfiguration | None = None
    """Not needed for MLflow models."""
    environment: EnvironmentRef | None = None
    """Default: the stack's scoring image (runtime-image/) when `code_configuration` is
    given; with neither, Azure generates both for an MLflow model (no-code deployment)."""
    compute: Annotated[str, StringConstraints(min_length=1)]
    """`azureml:<cluster>`: a compute cluster of this stack, or an ARM id."""
    resources: BatchResources = BatchResources()
    settings: BatchSettings = BatchSettings()

    @property
    def on_scoring_image(self) -> bool:
        """Whether the stack's scoring image (runtime-image/, amlkit-batch) runs this deployment."""
        return runs_scoring_image(self.environment, self.code_configuration)

    @model_validator(mode="before")
    @classmethod
    def _legacy_form(cls, data: Any) -> Any:
        """Files without `type` keep settings at the root; fold them into `settings`."""
        if not isinstance(data, dict):
            return data
        if data.get("type") is not None:
            return data
        moved = {k: data[k] for k in LEGACY_ROOT_SETTINGS if k in data}
        if not moved:
            return data
        rest = {k: v for k, v in data.items() if k not in moved}
        return {**rest, "settings": {**moved, **(data.get("settings") or {})}}

    @model_validator(mode="after")
    def _rules(self) -> BatchDeploymentSpec:
        if (
            self.settings.instance_count is not None
            and "resources" in self.model_fields_set
            and self.settings.instance_count != self.resources.instance_count
        ):
            raise ValueError(
                f"settings.instance_count ({self.settings.instance_count}) and "
                f"resources.instance_count ({self.resources.instance_count}) disagree; "
                "Azure takes one: set resources.instance_count"
            )
        # A registered model may be MLflow (no scoring code needed); Azure decides.
        # An inline custom model needs a scoring script, or the job cannot score.
        # Without `environment`, the stack's scoring image runs the script.
        if isinstance(self.model, str) or self.model.type == "mlflow_model":
            return self
        if self.code_configuration is None:
            raise ValueError("code_configuration is required unless the model is an mlflow_model")
        return self

    @property
    def compute_name(self) -> str:
        """The cluster name an `azureml:<name>` reference points at."""
        return self.compute.removeprefix("azureml:").split("/")[-1]
