"""Load Azure ML CLI v2 YAML files (`endpoint.yml`, `blue-deployment.yml`, ...) as specs.

A file's kind comes from its `$schema` (as `az ml` reads it) or from where the
stack config names it. Kinds amlkit does not support yet get a one-line message.
Local paths inside a file are relative to the file's folder, as in `az ml`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from .base import Spec, schema_stem
from .batch_deployment import BatchDeploymentSpec
from .batch_endpoint import BatchEndpointSpec
from .compute import ComputeClusterSpec
from .errors import ConfigError, Problem, Source, display_path, problems_from_validation
from .loader import load_yaml
from .online_deployment import OnlineDeploymentSpec
from .online_endpoint import OnlineEndpointSpec
from .pipeline_batch_deployment import PipelineBatchDeploymentSpec

Kind = Literal[
    "online_endpoint", "online_deployment", "batch_endpoint", "batch_deployment", "compute"
]

SCHEMA_KINDS: dict[str, Kind] = {
    "managedOnlineEndpoint": "online_endpoint",
    "kubernetesOnlineEndpoint": "online_endpoint",
    "managedOnlineDeployment": "online_deployment",
    "kubernetesOnlineDeployment": "online_deployment",
    "batchEndpoint": "batch_endpoint",
    "modelBatchDeployment": "batch_deployment",
    "batchDeployment": "batch_deployment",
    "pipelineComponentBatchDeployment": "batch_deployment",
    "amlCompute": "compute",
}

UNSUPPORTED_SCHEMAS: dict[str, str] = {
    "computeInstance": "compute instances",
    "kubernetesCompute": "Kubernetes compute files (attach a cluster with `amlkit:kubernetes`)",
    "vmCompute": "attached virtual machines",
    "workspace": "workspace files (set `amlkit:workspace` in the stack config)",
    "model": "standalone model files (name the model in a deployment)",
    "environment": "standalone environment files (name the environment in a deployment)",
}

MODELS: dict[Kind, type[Spec]] = {
    "online_endpoint": OnlineEndpointSpec,
    "online_deployment": OnlineDeploymentSpec,
    "batch_endpoint": BatchEndpointSpec,
    "batch_deployment": BatchDeploymentSpec,
    "compute": ComputeClusterSpec,
}

# Fields holding local paths, per nested block; made absolute against the file.
_PATH_FIELDS = {"model": ("path",), "code_configuration": ("code",), "environment": ("conda_file",)}


def read_yaml(path: Path) -> Any:
    """Parse a YAML file strictly and within bounds (`loader`); problems name the file and line."""
    return load_yaml(path)


def schema_kind(doc: Mapping[str, Any], file: Path) -> Kind | None:
    """The kind `$schema` names; a one-line error for kinds not supported yet."""
    stem = schema_stem(doc.get("$schema"))
    if stem is None:
        return None
    if stem in SCHEMA_KINDS:
        return SCHEMA_KINDS[stem]
    what = UNSUPPORTED_SCHEMAS.get(stem, f"the {stem!r} schema")
    raise ConfigError(
        [Problem(display_path(file), "$schema", f"amlkit does not support {what} yet")]
    )


def read_document(
    file: Path, expected: Kind | None = None, *, base: Path | None = None
) -> tuple[Kind, dict[str, Any]]:
    """Read a CLI v2 file into a raw dict, its local paths rewritten relative to `base`
    (the folder the spec is validated against; default: the file's own)."""
    doc = read_yaml(file)
    shown = display_path(file)
    if not isinstance(doc, dict):
        raise ConfigError([Problem(shown, "", "must be a YAML mapping of CLI v2 fields")])
    kind = schema_kind(doc, file) or expected
    if kind is None:
        raise ConfigError(
            [Problem(shown, "$schema", "is missing; amlkit cannot tell what this file holds")]
        )
    if expected is not None and kind != expected:
        raise ConfigError(
            [
                Problem(
                    shown,
                    "$schema",
                    f"holds a {kind.replace('_', ' ')}, not a {expected.replace('_', ' ')}",
                )
            ]
        )
    return kind, rebase(doc, file.parent, base or file.parent)


def rebase(doc: dict[str, Any], folder: Path, base: Path) -> dict[str, Any]:
    """A document's local asset paths, relative to its `folder` as `az ml` reads them,
    rewritten relative to `base`, lexically (what they point at is unchanged). Absolute
    or `~` paths stay as written, for the specs to refuse with the file named."""
    out = dict(doc)
    for block, fields in _PATH_FIELDS.items():
        value = out.get(block)
        if not isinstance(value, dict):
            continue
        fixed = dict(value)
        for name in fields:
            fixed[name] = _rebased(fixed.get(name), folder, base)
        out[block] = fixed
    # A pipeline-component deployment's `component` file, at the top of the document.
    if "component" in out:
        out["component"] = _rebased(out["component"], folder, base)
    return out


def _rebased(path: Any, folder: Path, base: Path) -> Any:
    if (
        isinstance(path, str)
        and path
        and not path.startswith(("azureml:", "~", "/subscriptions/"))
        and "://" not in path
        and "\x00" not in path
        and not Path(path).is_absolute()
    ):
        target = os.path.normpath(os.path.join(os.path.abspath(folder), path))
        return os.path.relpath(target, os.path.abspath(base))
    return path


def load_cli_yaml(
    file: str | Path, expected: Kind | None = None, *, check_paths: bool = True
) -> Spec:
    """Load one CLI v2 YAML file as its spec, or raise `ConfigError`."""
    path = Path(file)
    kind, doc = read_document(path, expected)
    model = model_for(kind, doc)
    try:
        return model.model_validate(
            doc, context={"base_dir": path.parent, "check_paths": check_paths}
        )
    except ValidationError as exc:
        raise ConfigError(
            problems_from_validation(exc, doc, root=Source(path), model=model)
        ) from None


def model_for(kind: Kind, doc: Mapping[str, Any]) -> type[Spec]:
    """The spec a document loads as: a batch deployment with `type: pipeline` is a
    pipeline-component one, whatever its `$schema` says (as azure-ai-ml reads it)."""
    kind_type = doc.get("type")
    if (
        kind == "batch_deployment"
        and isinstance(kind_type, str)
        and kind_type.lower() == "pipeline"
    ):
        return PipelineBatchDeploymentSpec
    return MODELS[kind]
