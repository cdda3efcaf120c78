"""Models, code and environments as a deployment names them in CLI v2 YAML.

Each is either a registered reference (`azureml:name:version`, `azureml:name@latest`,
`azureml://registries/<reg>/models/<name>/versions/<v>`, a full ARM id) or an
inline asset with a local `path`, which amlkit uploads and registers as `az ml` does.
Local paths are resolved against the folder of the file that names them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .base import LowerCase, ScalarString, Spec

# azureml:<name>:<version> | azureml:<name>@latest | azureml://registries/... |
# azureml://locations/... | /subscriptions/... (ARM id)
ASSET_REFERENCE_PATTERN = (
    r"^(azureml:[A-Za-z0-9_][-A-Za-z0-9_.]*(:[A-Za-z0-9_.-]+|@latest)"
    r"|azureml://(registries|locations|subscriptions)/.+"
    r"|/subscriptions/.+)$"
)
AssetReference = Annotated[str, StringConstraints(pattern=ASSET_REFERENCE_PATTERN)]

AssetName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][-A-Za-z0-9_.]{0,254}$")]


def resolve_local_path(value: str, info: ValidationInfo) -> str:
    """Make `value` absolute against the loader's `base_dir`, and require it to exist.

    Without a loader context (a spec built in code), the value is kept as given.
    """
    context = info.context or {}
    if "base_dir" not in context or re.match(ASSET_REFERENCE_PATTERN, value) or "://" in value:
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(context["base_dir"]) / path
    path = path.resolve()
    if context.get("check_paths", True) and not path.exists():
        raise ValueError(f"local path {path} does not exist (paths are relative to the file)")
    return str(path)


LocalPath = Annotated[str, StringConstraints(min_length=1)]


class ModelAsset(Spec):
    """An inline model: a local folder or file registered as a model version."""

    path: LocalPath
    """Local folder or file; uploaded to the workspace's storage."""
    name: AssetName | None = None
    """Registered model name; default: `<deployment>-model`."""
    version: ScalarString | None = None
    """Model version; default: a content hash of the folder, so changes register anew."""
    type: Annotated[Literal["custom_model", "mlflow_model", "triton_model"], LowerCase] = (
        "custom_model"
    )
    description: str | None = None

    resolve_path = field_validator("path")(resolve_local_path)


class CodeConfiguration(Spec):
    """The scoring code: a local folder (or registered code) and the script in it."""

    code: str
    """Local folder, or `azureml:` code reference."""
    scoring_script: Annotated[str, StringConstraints(min_length=1)]

    resolve_path = field_validator("code")(resolve_local_path)

    @model_validator(mode="after")
    def _script_in_code(self) -> CodeConfiguration:
        folder = Path(self.code)
        if folder.is_dir() and not (folder / self.scoring_script).exists():
            raise ValueError(f"scoring_script {self.scoring_script!r} is not in {folder}")
        return self


class Route(Spec):
    """A port and path of a bring-your-own-container route."""

    port: Annotated[int, Field(ge=1, le=65535)]
    path: Annotated[str, StringConstraints(pattern=r"^/")]


class InferenceConfig(Spec):
    """Routes of a custom container (`environment.inference_config`)."""

    liveness_route: Route
    readiness_route: Route
    scoring_route: Route


class EnvironmentAsset(Spec):
    """An inline environment: a base image, optionally with a conda file on top."""

    name: AssetName | None = None
    version: ScalarString | None = None
    image: Annotated[str, StringConstraints(min_length=1)] | None = None
    """Container image; `scoring-image` means the stack's own image built from runtime-image/."""
    conda_file: str | None = None
    """A conda YAML file, resolved against the file that names it."""
    inference_config: InferenceConfig | None = None
    description: str | None = None
    os_type: Annotated[Literal["linux", "windows"], LowerCase] = "linux"

    @field_validator("conda_file")
    @classmethod
    def _resolve_conda(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else resolve_local_path(value, info)

    @model_validator(mode="after")
    def _needs_image(self) -> EnvironmentAsset:
        if self.image is None:
            raise ValueError(
                "an inline environment needs `image` (a base image, or `scoring-image`)"
            )
        return self


def _reference_or_inline(value: Any) -> str:
    return "reference" if isinstance(value, str) else "inline"


ModelRef = Annotated[
    Annotated[AssetReference, Tag("reference")] | Annotated[ModelAsset, Tag("inline")],
    Discriminator(_reference_or_inline),
]
"""A registered model reference, or an inline model with a local path."""

EnvironmentRef = Annotated[
    Annotated[AssetReference, Tag("reference")] | Annotated[EnvironmentAsset, Tag("inline")],
    Discriminator(_reference_or_inline),
]
"""A registered environment reference, or an inline image (+ conda file)."""
