"""The one scoring image every deployment serves, built from `runtime-image/`."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints, ValidationInfo, field_validator

from .assets import CodeConfiguration, EnvironmentAsset, InsidePath, resolve_local_path
from .base import Spec

SCORING_IMAGE = "scoring-image"
"""What a deployment writes as `environment.image` (or omits `environment` for)
to run on the stack's own image."""

# How amlkit-serve answers in the online image (runtime-image/Dockerfile's CMD), as the
# online environment's `inference_config` tells Azure: without it, Azure treats the
# image as one of its own inference images and starts its own stack in it (Azure ML
# "Use a custom container to deploy a model to an online endpoint").
SERVE_PORT = 5001
LIVENESS_PATH = "/liveness"
"""200 as soon as the server answers, also while init() runs: a slow init() is not a
dead container."""
READINESS_PATH = "/readiness"
"""200 once init() has finished; 503 before: no request is routed to the instance."""
SCORING_PATH = "/score"


def runs_scoring_image(
    environment: str | EnvironmentAsset | None, code: CodeConfiguration | None
) -> bool:
    """Whether a deployment with this `environment` and code runs on the stack's image
    (amlkit-serve, amlkit-batch): it names `scoring-image`, or omits the environment
    but has code (without either, Azure generates a no-code MLflow deployment)."""
    if environment is None:
        return code is not None
    return not isinstance(environment, str) and environment.image == SCORING_IMAGE


Repository = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$")]
EnvironmentName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][-A-Za-z0-9_.]*$")]


class ScoringImageSpec(Spec):
    """The runtime's two images: online (amlkit-serve) and batch (Azure's batch driver)."""

    context: str = "../runtime-image"
    """Build context, relative to the stack config's folder."""
    dockerfile: InsidePath = "Dockerfile"
    """The online image (amlkit-serve started by its CMD): the Dockerfile's path inside
    `context` (relative, no `..` out of it)."""
    repository: Repository = "amlkit/scoring"
    platform: Annotated[str, StringConstraints(pattern=r"^linux/(amd64|arm64)$")] = "linux/amd64"
    environment_name: EnvironmentName = "amlkit-scoring"
    """The Azure ML environment registered for the online image (with `inference_config`)."""
    batch_dockerfile: InsidePath = "Dockerfile.batch"
    """The batch image: the same runtime plus what Azure's batch driver needs in the
    environment (`azureml-core`, `azureml-dataset-runtime[fuse]`); Azure runs its own
    driver there, which calls the scoring script's init() and run(mini_batch)."""
    batch_repository: Repository = "amlkit/batch"
    batch_environment_name: EnvironmentName = "amlkit-batch"
    """The Azure ML environment registered for the batch image, the default of every batch
    deployment without an environment of its own."""

    @field_validator("context")
    @classmethod
    def _resolve_context(cls, value: str, info: ValidationInfo) -> str:
        return resolve_local_path(value, info, "folder")
