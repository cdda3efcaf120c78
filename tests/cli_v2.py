"""The CLI v2 YAML files the tests read, and what azure-ai-ml reads from each.

Two corpora: the project's own fixtures (`tests/fixtures/cli-v2/`, always present,
written from the field reference) and Microsoft's samples (`aml-examples`, outside
the repository; see `EXAMPLES` in tests/conftest.py). Both go through the same
checks: amlkit loads them, azure-ai-ml (Azure's own loader) reads the same values,
and amlkit renders the body azure-ai-ml would send (tests/plan/test_azure_fidelity.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from amlkit.specs import (
    BatchDeploymentSpec,
    BatchEndpointSpec,
    ComputeClusterSpec,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cli-v2"
"""The project's CLI v2 files, with the model, code and conda file they name."""

VALID_FIXTURES = sorted(
    str(p.relative_to(FIXTURES))
    for folder in ("online", "batch", "compute")
    for p in (FIXTURES / folder).rglob("*.yml")
)
"""Files both amlkit and azure-ai-ml accept."""

INVALID_FIXTURES = sorted(
    str(p.relative_to(FIXTURES)) for p in (FIXTURES / "invalid").glob("*.yml")
)
"""Files amlkit refuses; each says why in its header (tests/specs/test_cli_v2_fixtures.py)."""

SPECS: dict[str, type[BaseModel]] = {
    "managedOnlineEndpoint": OnlineEndpointSpec,
    "kubernetesOnlineEndpoint": OnlineEndpointSpec,
    "managedOnlineDeployment": OnlineDeploymentSpec,
    "kubernetesOnlineDeployment": OnlineDeploymentSpec,
    "batchEndpoint": BatchEndpointSpec,
    "modelBatchDeployment": BatchDeploymentSpec,
    "amlCompute": ComputeClusterSpec,
}
"""The CLI v2 kinds amlkit supports (the last part of `$schema`) and the spec each loads as."""

LOADERS: dict[str, str] = {
    "managedOnlineEndpoint": "load_online_endpoint",
    "kubernetesOnlineEndpoint": "load_online_endpoint",
    "managedOnlineDeployment": "load_online_deployment",
    "kubernetesOnlineDeployment": "load_online_deployment",
    "batchEndpoint": "load_batch_endpoint",
    "modelBatchDeployment": "load_model_batch_deployment",
    "amlCompute": "load_compute",
    "pipelineComponentBatchDeployment": "load_pipeline_component_batch_deployment",
}
"""azure-ai-ml's loader for each kind (`azure.ai.ml.load_*`)."""

_PATHS = {("model", "path"), ("code_configuration", "code")}
"""Local paths: amlkit makes them absolute; azure-ai-ml keeps them as written."""

_MISSING = "<not read by azure-ai-ml>"


_BATCH_DEPLOYMENTS = {"batchDeployment", "modelBatchDeployment", "pipelineComponentBatchDeployment"}
_BATCH_TYPES = {"model": "modelBatchDeployment", "pipeline": "pipelineComponentBatchDeployment"}


def schema_kind(file: Path) -> str:
    """`managedOnlineEndpoint` for `.../managedOnlineEndpoint.schema.json`, in that spelling
    whatever the case the file writes it in (azure-ai-ml does not read `$schema`). A batch
    deployment's kind is its `type`, as `az ml batch-deployment create` picks its loader:
    `type: model` loads as a model batch deployment under any batch `$schema`."""
    doc = yaml.safe_load(file.read_text())
    stem = str(doc["$schema"]).strip().rsplit("/", 1)[-1]
    stem = stem.removesuffix(".json").removesuffix(".schema")
    known = {k.lower(): k for k in (*LOADERS, *_BATCH_DEPLOYMENTS)}
    kind = known.get(stem.lower(), stem)
    if kind in _BATCH_DEPLOYMENTS and str(doc.get("type")).lower() in _BATCH_TYPES:
        return _BATCH_TYPES[str(doc.get("type")).lower()]
    return kind


ENDPOINT_NAME = "my-endpoint"
"""For deployment files that name no endpoint (`az ml ... --endpoint-name` supplies it)."""


def azure_ai_ml_load(file: Path) -> Any:
    """The file as azure-ai-ml loads it (raises what azure-ai-ml raises); a deployment
    without `endpoint_name` gets ENDPOINT_NAME, as `--endpoint-name` would give it."""
    from azure.ai.ml.entities import _load_functions

    kind = schema_kind(file)
    named = "endpoint_name" in (yaml.safe_load(file.read_text()) or {})
    overrides = None if named or "Deployment" not in kind else [{"endpoint_name": ENDPOINT_NAME}]
    return getattr(_load_functions, LOADERS[kind])(file, params_override=overrides)


def disagreements(ours: BaseModel, theirs: Any, file: Path) -> dict[str, tuple[Any, Any]]:
    """Every value the file sets, as amlkit's spec holds it, that azure-ai-ml's entity
    holds differently: dotted path -> (amlkit, azure-ai-ml). Empty when they agree.

    Compared in one spelling: enums without regard to case, `azureml:` references
    without the prefix (azure-ai-ml strips it), local paths resolved against the file,
    a conda file by its content (azure-ai-ml reads it in), sequences as lists.
    """
    found: dict[str, tuple[Any, Any]] = {}
    for path, value in _leaves(ours):
        if path == ("schema_",):
            continue
        mine, yours = _normal(path, value, file), _normal(path, _get(theirs, path), file)
        if mine != yours:
            found[".".join(map(str, path))] = (mine, yours)
    return found


def _leaves(model: BaseModel, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, Any]]:
    """(path, value) of each field the file set, descending into nested blocks."""
    for name in sorted(model.model_fields_set):
        value = getattr(model, name)
        yield from _descend((*prefix, name), value)


def _descend(path: tuple[str | int, ...], value: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, BaseModel):
        yield from _leaves(value, path)
    elif isinstance(value, Mapping) and any(isinstance(v, BaseModel) for v in value.values()):
        for key, item in value.items():
            yield from _descend((*path, key), item)
    elif isinstance(value, tuple) and any(isinstance(v, BaseModel) for v in value):
        for index, item in enumerate(value):
            yield from _descend((*path, index), item)
    else:
        yield path, value


def _get(entity: Any, path: tuple[str | int, ...]) -> Any:
    node = entity
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list | tuple) and part < len(node) else _MISSING
        elif isinstance(node, Mapping):
            # azure-ai-ml keeps some blocks in their REST spelling (`deploymentName`).
            node = node.get(part, node.get(_camel(part), _MISSING))
        else:
            node = getattr(node, part, _MISSING)
        if node is _MISSING:
            break
    return node


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _normal(path: tuple[str | int, ...], value: Any, file: Path) -> Any:
    if path[-1] == "conda_file":
        return yaml.safe_load(Path(value).read_text()) if isinstance(value, str) else value
    if isinstance(value, Path) or (tuple(p for p in path if isinstance(p, str)) in _PATHS):
        text = str(value)
        if not text.startswith("azureml:"):
            return str((file.parent / text).resolve())
    if isinstance(value, tuple | list):
        return [_normal(path, v, file) for v in value]
    if isinstance(value, str):
        return value.removeprefix("azureml:").lower()
    return value
