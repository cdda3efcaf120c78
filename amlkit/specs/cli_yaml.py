"""Load Azure ML CLI v2 YAML files (`endpoint.yml`, `blue-deployment.yml`, ...) as specs.

A file's kind is decided as azure-ai-ml decides it: by where the stack config names it
(the `az ml` command a file is given to), then its `type`, then its `$schema` read
without regard to case (`file_kind`). A file whose kind does not fit its place, and
kinds amlkit does not support, get a one-line message.
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
from .compute import UNSUPPORTED_COMPUTE, ComputeClusterSpec
from .errors import ConfigError, Problem, Source, display_path, problems_from_validation
from .loader import load_yaml
from .online_deployment import OnlineDeploymentSpec
from .online_endpoint import OnlineEndpointSpec
from .pipeline_batch_deployment import PipelineBatchDeploymentSpec

Kind = Literal[
    "online_endpoint", "online_deployment", "batch_endpoint", "batch_deployment", "compute"
]
"""A place in a stack, as the `az ml` command that takes a file (`az ml online-deployment
create -f ...`) is a place: it decides what the file must be. Sub-kinds (managed or
Kubernetes, model or pipeline batch deployment, the kind of compute) come from the
file's `type`, as azure-ai-ml's loaders read it."""

PLACES: dict[Kind, str] = {
    "online_endpoint": "an online endpoint (online_endpoints[])",
    "online_deployment": "an online deployment (online_endpoints[].deployments[])",
    "batch_endpoint": "a batch endpoint (batch_endpoints[])",
    "batch_deployment": "a batch deployment (batch_endpoints[].deployments[])",
    "compute": "a compute cluster (compute[])",
}
"""What fits each place, as an error names it."""

SCHEMA_KINDS: dict[str, Kind] = {
    "managedonlineendpoint": "online_endpoint",
    "kubernetesonlineendpoint": "online_endpoint",
    "managedonlinedeployment": "online_deployment",
    "kubernetesonlinedeployment": "online_deployment",
    "batchendpoint": "batch_endpoint",
    "modelbatchdeployment": "batch_deployment",
    "batchdeployment": "batch_deployment",
    "pipelinecomponentbatchdeployment": "batch_deployment",
    "amlcompute": "compute",
}
"""`$schema` stems (lower case: azure-ai-ml does not read `$schema` at all, so its
spelling cannot matter) and the kind each names."""

UNSUPPORTED_SCHEMAS: dict[str, str] = {
    "computeinstance": UNSUPPORTED_COMPUTE["computeinstance"],
    "kubernetescompute": UNSUPPORTED_COMPUTE["kubernetes"],
    "vmcompute": UNSUPPORTED_COMPUTE["virtualmachine"],
    "virtualmachinecompute": UNSUPPORTED_COMPUTE["virtualmachine"],
    "workspace": "workspace files (set `amlkit:workspace` in the stack config)",
    "model": "standalone model files (name the model in a deployment)",
    "environment": "standalone environment files (name the environment in a deployment)",
}
"""Kinds amlkit refuses, each with the reason (README "Bring your CLI v2 YAML")."""

_ONLINE_TYPES = {"managed", "kubernetes"}
_BATCH_TYPES = {"model", "pipeline"}

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
    """The kind `$schema` names, read without regard to case; a one-line error for
    kinds amlkit does not support. None without a `$schema` or with one amlkit does not
    know (azure-ai-ml ignores `$schema`; the place or `type` decides then)."""
    stem = schema_stem(doc.get("$schema"))
    if stem is None:
        return None
    stem = stem.lower()
    if stem in UNSUPPORTED_SCHEMAS:
        raise ConfigError(
            [
                Problem(
                    display_path(file),
                    "$schema",
                    f"amlkit does not support {UNSUPPORTED_SCHEMAS[stem]}",
                )
            ]
        )
    return SCHEMA_KINDS.get(stem)


def type_kind(doc: Mapping[str, Any]) -> Kind | None:
    """The kind a deployment's `type` implies: `managed`/`kubernetes` are online
    deployments, `model`/`pipeline` batch deployments (azure-ai-ml's loaders)."""
    typ = doc.get("type")
    if not isinstance(typ, str):
        return None
    if typ.lower() in _ONLINE_TYPES:
        return "online_deployment"
    if typ.lower() in _BATCH_TYPES:
        return "batch_deployment"
    return None


def file_kind(doc: Mapping[str, Any], file: Path, expected: Kind | None = None) -> Kind:
    """Decide what a file holds as azure-ai-ml does: the place in the stack (the `az ml`
    command) first, then `type`, then `$schema` (case-insensitive). A file whose
    `$schema` or `type` names another kind than its place takes gets one line naming
    the file and what fits there."""
    shown = display_path(file)
    said = schema_kind(doc, file)
    if expected == "compute" or (expected is None and said == "compute"):
        _check_compute_type(doc, shown)
    implied = type_kind(doc) if expected in ("online_deployment", "batch_deployment") else None
    for found, field in ((said, "$schema"), (implied, "type")):
        if expected is not None and found is not None and found != expected:
            raise ConfigError(
                [
                    Problem(
                        shown,
                        field,
                        f"holds {PLACES[found].split(' (')[0]}, but {PLACES[expected]} goes "
                        "here; move the file to that place in the stack config",
                    )
                ]
            )
    kind = expected or said
    if kind is None:
        raise ConfigError(
            [
                Problem(
                    shown,
                    "$schema",
                    "is missing; amlkit cannot tell what this file holds (name it under "
                    "online_endpoints, batch_endpoints or compute in the stack config, or "
                    "give its $schema)",
                )
            ]
        )
    return kind


def _check_compute_type(doc: Mapping[str, Any], shown: str) -> None:
    """`az ml compute create` picks the compute's kind by `type`: refuse the ones amlkit
    does not deploy with their reason (the spec refuses them inline the same way)."""
    typ = doc.get("type")
    reason = UNSUPPORTED_COMPUTE.get(typ.lower()) if isinstance(typ, str) else None
    if reason is not None:
        raise ConfigError([Problem(shown, "type", f"amlkit does not support {reason}")])


def read_document(
    file: Path, expected: Kind | None = None, *, base: Path | None = None
) -> tuple[Kind, dict[str, Any]]:
    """Read a CLI v2 file into a raw dict, its local paths rewritten relative to `base`
    (the folder the spec is validated against; default: the file's own)."""
    doc = read_yaml(file)
    shown = display_path(file)
    if not isinstance(doc, dict):
        raise ConfigError([Problem(shown, "", "must be a YAML mapping of CLI v2 fields")])
    kind = file_kind(doc, file, expected)
    return kind, rebase(doc, file.parent, base or file.parent)


def spec_model(kind: Kind, doc: Mapping[str, Any]) -> type[Spec]:
    """The spec a file of `kind` loads as; its sub-kind chooses among several: a batch
    deployment with `type: pipeline` (or, without `type`, a `$schema` naming one) is a
    pipeline-component one, as azure-ai-ml reads it. The one place a sub-kind plugs in."""
    if kind == "batch_deployment" and is_pipeline_deployment(doc):
        return PipelineBatchDeploymentSpec
    return MODELS[kind]


def is_pipeline_deployment(doc: Mapping[str, Any]) -> bool:
    """A pipeline-component batch deployment: `type: pipeline` (any case), or a
    `$schema` naming one where `type` is absent."""
    typ = doc.get("type")
    if isinstance(typ, str):
        return typ.lower() == "pipeline"
    stem = schema_stem(doc.get("$schema"))
    return stem is not None and stem.lower() == "pipelinecomponentbatchdeployment"


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
    model = spec_model(kind, doc)
    try:
        return model.model_validate(
            doc, context={"base_dir": path.parent, "check_paths": check_paths}
        )
    except ValidationError as exc:
        raise ConfigError(
            problems_from_validation(exc, doc, root=Source(path), model=model)
        ) from None
