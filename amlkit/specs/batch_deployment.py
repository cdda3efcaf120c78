"""A batch deployment of a model (CLI v2 `modelBatchDeployment`).

Pipeline-component batch deployments (`type: pipeline`) are not supported yet;
the loader says so in one line rather than half-deploying them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from .assets import CodeConfiguration, EnvironmentRef, ModelRef
from .base import LowerCase, Spec
from .scoring_image import runs_scoring_image
from .types import DeploymentName, PositiveInt, Tags

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


class RetrySettings(Spec):
    max_retries: Annotated[int, Field(ge=0)] = 3
    timeout: PositiveInt = 30
    """Seconds one mini-batch may run before it is retried."""


class BatchSettings(Spec):
    """How the runner splits and scores the inputs; Azure ML's defaults."""

    max_concurrency_per_instance: PositiveInt = 1
    mini_batch_size: PositiveInt = 10
    """Files per `run()` call."""
    error_threshold: Annotated[int, Field(ge=-1)] = -1
    """Failed items tolerated before the job fails; -1 ignores all failures."""
    logging_level: Annotated[Literal["debug", "info", "warning"], LowerCase] = "info"
    output_action: Annotated[Literal["append_row", "summary_only"], LowerCase] = "append_row"
    output_file_name: Annotated[str, StringConstraints(pattern=r"^[^/\\]+$")] = "predictions.csv"
    retry_settings: RetrySettings = RetrySettings()
    environment_variables: dict[str, str] = {}
    instance_count: PositiveInt | None = None


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
            if data.get("type") == "pipeline":
                raise ValueError(
                    "type: pipeline-component batch deployments are not supported yet; "
                    "use `type: model`"
                )
            return data
        moved = {k: data[k] for k in LEGACY_ROOT_SETTINGS if k in data}
        if not moved:
            return data
        rest = {k: v for k, v in data.items() if k not in moved}
        return {**rest, "settings": {**moved, **(data.get("settings") or {})}}

    @model_validator(mode="before")
    @classmethod
    def _yaml_env_values(cls, data: Any) -> Any:
        settings = data.get("settings") if isinstance(data, dict) else None
        if isinstance(settings, dict) and isinstance(settings.get("environment_variables"), dict):
            env = {k: str(v) for k, v in settings["environment_variables"].items()}
            return {**data, "settings": {**settings, "environment_variables": env}}
        return data

    @model_validator(mode="after")
    def _rules(self) -> BatchDeploymentSpec:
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
