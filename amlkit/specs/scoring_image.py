"""The one scoring image every deployment serves, built from `runtime-image/`."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints, ValidationInfo, field_validator

from .assets import CodeConfiguration, EnvironmentAsset, InsidePath, resolve_local_path
from .base import Spec

SCORING_IMAGE = "scoring-image"
"""What a deployment writes as `environment.image` (or omits `environment` for)
to run on the stack's own image."""


def runs_scoring_image(
    environment: str | EnvironmentAsset | None, code: CodeConfiguration | None
) -> bool:
    """Whether a deployment with this `environment` and code runs on the stack's image
    (amlkit-serve, amlkit-batch): it names `scoring-image`, or omits the environment
    but has code (without either, Azure generates a no-code MLflow deployment)."""
    if environment is None:
        return code is not None
    return not isinstance(environment, str) and environment.image == SCORING_IMAGE


class ScoringImageSpec(Spec):
    context: str = "../runtime-image"
    """Build context, relative to the stack config's folder."""
    dockerfile: InsidePath = "Dockerfile"
    """The Dockerfile's path inside `context` (relative, no `..` out of it)."""
    repository: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$")] = (
        "amlkit/scoring"
    )
    platform: Annotated[str, StringConstraints(pattern=r"^linux/(amd64|arm64)$")] = "linux/amd64"
    environment_name: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9_][-A-Za-z0-9_.]*$")
    ] = "amlkit-scoring"
    """Name of the Azure ML environment registered for the image."""

    @field_validator("context")
    @classmethod
    def _resolve_context(cls, value: str, info: ValidationInfo) -> str:
        return resolve_local_path(value, info, "folder")
