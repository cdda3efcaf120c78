"""Models, code and environments as a deployment names them in CLI v2 YAML.

Each is either a registered reference (`azureml:name:version`, `azureml:name@latest`,
`azureml://registries/<reg>/models/<name>/versions/<v>`, a full ARM id) or an
inline asset with a local `path`, which amlkit uploads and registers as `az ml` does.
Local paths are resolved against the folder of the file that names them.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    StrictInt,
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


PathKind = Literal["file", "folder", "file or folder"]


def relative_path(value: str, base: Path, root: Path | None) -> Path:
    """`value` joined to `base`, lexically normalised, or a ValueError: it must be relative
    (no `/etc/passwd`, no `~`) and, when `root` is given, stay inside it (no `..` that
    leaves the repository). Symlinks inside are the repository's own business."""
    if "\x00" in value:
        raise ValueError("is not a path (it holds a NUL character)")
    if value.startswith("~") or Path(value).is_absolute():
        raise ValueError(
            "must be a path relative to the file that names it, not an absolute one "
            "(a stack must render the same on every machine)"
        )
    path = Path(os.path.normpath(Path(os.path.abspath(base)) / value))
    if root is not None:
        top = Path(os.path.abspath(root))
        if path != top and top not in path.parents:
            raise ValueError(
                f"leaves the repository ({top}): local paths stay inside it, so a config "
                "cannot upload or hash files from elsewhere on the machine"
            )
    return path


def _check_kind(path: Path, kind: PathKind) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ValueError(
            f"local path {path} does not exist (paths are relative to the file that names them)"
        ) from None
    except OSError as error:
        raise ValueError(f"local path {path} cannot be read: {error.strerror}") from None
    is_dir, is_file = stat.S_ISDIR(mode), stat.S_ISREG(mode)
    if kind == "folder" and not is_dir:
        raise ValueError(f"local path {path} is not a folder")
    if kind == "file" and not is_file:
        raise ValueError(f"local path {path} is not a regular file")
    if kind == "file or folder" and not (is_dir or is_file):
        raise ValueError(f"local path {path} is neither a file nor a folder")


def resolve_local_path(value: str, info: ValidationInfo, kind: PathKind = "file or folder") -> str:
    """Make `value` absolute against the loader's `base_dir` and require it to exist as
    `kind` (`relative_path` says which paths are refused). Without a loader context (a
    spec built in code), or for a registered asset, the value is kept as given."""
    context = info.context or {}
    if "base_dir" not in context or re.match(ASSET_REFERENCE_PATTERN, value) or "://" in value:
        return value
    root = context.get("root")
    path = relative_path(value, Path(context["base_dir"]), Path(root) if root else None)
    if context.get("check_paths", True):
        _check_kind(path, kind)
    return str(path.resolve())


def _local_folder(value: str, info: ValidationInfo) -> str:
    return resolve_local_path(value, info, "folder")


LocalPath = Annotated[str, StringConstraints(min_length=1)]


def _inside_folder(value: str) -> str:
    """A path inside its folder: relative, and no `..` that climbs out of it."""
    if "\x00" in value:
        raise ValueError("is not a path (it holds a NUL character)")
    posix = PurePosixPath(value.replace("\\", "/"))
    if posix.is_absolute() or value.startswith("~") or PureWindowsPath(value).drive:
        raise ValueError("must be relative to its folder, not an absolute path")
    if ".." in PurePosixPath(os.path.normpath(posix)).parts:
        raise ValueError("climbs out of its folder with `..`; it must lie inside it")
    return value


InsidePath = Annotated[str, StringConstraints(min_length=1), AfterValidator(_inside_folder)]
"""A path relative to a folder and inside it (`scoring_script` in `code`, a Dockerfile
in its build context)."""


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
    scoring_script: InsidePath
    """The script's path inside `code`."""

    resolve_path = field_validator("code")(_local_folder)

    @model_validator(mode="after")
    def _script_in_code(self, info: ValidationInfo) -> CodeConfiguration:
        folder = Path(self.code)
        checked = (info.context or {}).get("check_paths", True)
        script = folder / self.scoring_script
        if folder.is_absolute() and checked and not script.is_file():
            what = "is not a regular file" if script.exists() else "is not"
            raise ValueError(f"scoring_script {self.scoring_script!r} {what} in {folder}")
        return self


class Route(Spec):
    """A port and path of a bring-your-own-container route."""

    port: Annotated[StrictInt, Field(ge=1, le=65535)]
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
        return None if value is None else resolve_local_path(value, info, "file")

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
