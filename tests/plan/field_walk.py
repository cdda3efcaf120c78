"""The field walk's machinery: the cases a CLI v2 field is held to, the walk of the
specs' leaf fields, and rendering a file and comparing it with azure-ai-ml.

Not a test module (no `test_` prefix): tests/plan/test_field_coverage.py (model
deployments, endpoints, clusters) and tests/plan/test_field_coverage_pipeline.py
(pipeline-component batch deployments) hold their specs' fields to a case each:

- `Sent`: a file setting the field renders another request than the file without it
  (amlkit's component under the mock engine), and at each body path that changed,
  azure-ai-ml's REST conversion of the same file sends the same value (canonical form
  of Azure's models), or a difference the comparison test tolerates with its reason;
- `Elsewhere`: the field is amlkit's own and reaches another Azure resource (autoscale);
- `Refused`: setting it is refused in one line saying why;
- `Unsent`: neither amlkit nor az ml sends it: setting it changes none of amlkit's
  requests (and what else the test module holds it to);
- `Place`: it decides where the resource goes (its name in the URL, its kind), with the
  test that shows it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from amlkit.plan import azure_body, azure_models
from amlkit.plan.azure_check import check_body
from amlkit.plan.mock_engine import Recording
from amlkit.specs import (
    BatchDeploymentSpec,
    BatchEndpointSpec,
    ComputeClusterSpec,
    ConfigError,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    PipelineBatchDeploymentSpec,
    load_cli_yaml,
)
from tests.cli_v2 import azure_ai_ml_load, schema_kind
from tests.fidelity import (
    ML,
    RENDERED_TYPES,
    amlkit_body,
    amlkit_render,
    azure_ai_ml_body,
    canonical,
    differences,
)
from tests.plan.test_azure_fidelity import _tolerance

SCHEMA = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
ENV = {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"}
INFERENCE = {
    "liveness_route": {"port": 5001, "path": "/"},
    "readiness_route": {"port": 5001, "path": "/ready"},
    "scoring_route": {"port": 5001, "path": "/score"},
}
"""An environment's `inference_config`, every route given."""

Base = tuple[str, dict[str, Any]]
"""A file without the field: (its folder under the fixtures copy, its document)."""

SPEC_BASES: dict[type[BaseModel], str] = {
    OnlineDeploymentSpec: "online_deployment",
    BatchDeploymentSpec: "batch_deployment",
    OnlineEndpointSpec: "online_endpoint",
    BatchEndpointSpec: "batch_endpoint",
    ComputeClusterSpec: "compute",
    PipelineBatchDeploymentSpec: "pipeline_deployment",
}
"""The specs walked, by the kind their cases are filed under; endpoints' `deployments`
are walked as the deployment specs; a pipeline deployment's `component` down to its
steps' command components."""


@dataclass(frozen=True)
class Sent:
    patch: dict[str, Any]
    base: str = ""
    """The BASES entry to patch; default: the spec's own."""
    before: dict[str, Any] = field(default_factory=dict)
    """What both files set, where the field needs company (`patch` goes on top)."""


@dataclass(frozen=True)
class Elsewhere:
    patch: dict[str, Any]
    resource: str
    reason: str
    base: str = ""


@dataclass(frozen=True)
class Refused:
    patch: dict[str, Any]
    message: str
    base: str = ""


@dataclass(frozen=True)
class Unsent:
    patch: dict[str, Any]
    reason: str
    """Why neither az ml nor amlkit sends it."""
    base: str = ""
    before: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Place:
    reason: str
    """What the field decides, and the test that shows it."""


Case = Sent | Elsewhere | Refused | Unsent | Place

PLACE_SCHEMA = Place("decides the file's kind: tests/specs/test_file_kind.py")


def routes(route: str, key: str, value: Any) -> dict[str, Any]:
    """`INFERENCE` with one route's `key` set to `value`."""
    found = copy.deepcopy(INFERENCE)
    found[route][key] = value
    return found


def merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`patch` on top of `base`; a model, environment or code configuration replaced whole."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and key
            not in (
                "model",
                "environment",
                "code_configuration",
            )
        ):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- the walk ---------------------------------------------------------------------------


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def leaf_fields(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every leaf field of a spec, dotted by its CLI v2 names (aliases)."""
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        nested = list(_models(info.annotation))
        if any(m in SPEC_BASES for m in nested):
            continue  # an endpoint's deployments: walked as their own spec
        if nested:
            for sub in nested:
                yield from leaf_fields(sub, f"{key}.")
        else:
            yield key


WALKED = sorted(
    (kind, path) for spec, kind in SPEC_BASES.items() for path in set(leaf_fields(spec))
)
"""(kind, dotted path) of every leaf field of every spec walked."""


def case_params(cases: Mapping[str, Mapping[str, Case]]) -> list[Any]:
    """One test case a walked field of `cases`' kinds that is not a `Place`."""
    return [
        pytest.param(kind, path, id=f"{kind}:{path}")
        for kind, path in WALKED
        if kind in cases and isinstance(cases[kind].get(path), Sent | Elsewhere | Refused | Unsent)
    ]


# -- rendering ---------------------------------------------------------------------------


def write_file(corpus: Path, base: Base, patch: Mapping[str, Any]) -> Path:
    """The base file with `patch` on top, named by its content (so equal files render once)."""
    folder, doc = base
    doc = {k: v for k, v in merge(doc, patch).items() if v is not None}
    if isinstance(doc.get("component"), dict):  # a pipeline component file beside it
        text = yaml.safe_dump(doc["component"], sort_keys=False)
        doc["component"] = f"component-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yml"
        (corpus / folder / doc["component"]).write_text(text)
    text = yaml.safe_dump(doc, sort_keys=False)
    file = corpus / folder / f"field-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yml"
    file.write_text(text)
    return file


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, item in value.items():
            found |= _flat(item, f"{prefix}.{key}" if prefix else str(key))
        return found
    return {prefix: json.dumps(value, sort_keys=True, default=str)}


@functools.cache
def render(file: Path) -> Recording:
    """Each file rendered once (a case renders it for its inputs, body and assets)."""
    return amlkit_render(file)


@functools.cache
def their_entity(file: Path) -> Any:
    """azure-ai-ml's entity of each file, loaded once (its loader is the slowest step
    of a case): read for the URL names, converted for its body (`_their_body`, once),
    its model's, environment's and components' bodies."""
    return azure_ai_ml_load(file)


@functools.cache
def _their_body(file: Path) -> dict[str, Any]:
    return azure_ai_ml_body(file, their_entity(file))


@functools.cache
def _requests(file: Path) -> set[tuple[str, str, str]]:
    """(type, path, value) of every input of every Azure resource amlkit renders."""
    found = set()
    for resource in render(file).resources:
        if resource.type.startswith("azure-native:"):
            for path, value in _flat(resource.inputs).items():
                found.add((resource.type, path, value))
    return found


def encoded(rest: Any) -> dict[str, Any]:
    """An azure-ai-ml REST object as the JSON it sends."""
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import SdkJSONEncoder

    class Encoder(SdkJSONEncoder):
        def default(self, o: Any) -> Any:
            try:
                return super().default(o)  # type: ignore[no-untyped-call]
            except TypeError:
                return str(o)

    body: dict[str, Any] = json.loads(json.dumps(rest, cls=Encoder, exclude_readonly=True))
    return body


# -- comparing with azure-ai-ml ----------------------------------------------------------


def _asset_bodies(file: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """amlkit's and azure-ai-ml's canonical bodies of the file's inline model and
    environment, by azure-native type."""
    entity = their_entity(file)
    recording = render(file)
    found = {}
    for typ, theirs in (
        ("ModelVersion", getattr(entity, "model", None)),
        ("EnvironmentVersion", getattr(entity, "environment", None)),
    ):
        mine = recording.of_type(f"{ML}:{typ}")
        if not mine or theirs is None or isinstance(theirs, str):
            continue
        model = azure_models.model_for(f"{ML}:{typ}")
        assert model is not None
        ours = azure_body.request_body(f"{ML}:{typ}", mine[0].inputs, model)
        found[typ] = (
            check_body(ours, model)[0],
            check_body(encoded(theirs._to_rest_object()), model)[0],
        )
    return found


ASSET_TYPES = ("ModelVersion", "EnvironmentVersion")

ASSET_SAME: dict[str, Callable[[Any, Any], bool]] = {
    # Azure's defaults, which azure-native's Args write out
    "properties.autoRebuild": lambda ours, theirs: (ours, theirs) == ("Disabled", None),
    "properties.osType": lambda ours, theirs: (ours, theirs) == ("Linux", None),
    # asset naming, as asset ids: amlkit registers every inline asset under a name
    # (`<deployment>-model` / `-env`) and a content-hash version, where az ml registers an
    # unnamed one anonymously (amlkit.specs.asset_uses)
    "properties.isAnonymous": lambda ours, theirs: (ours, theirs) == (False, True),
    # az ml reads the conda file as YAML and writes it back; amlkit sends its text
    "properties.condaFile": lambda ours, theirs: yaml.safe_load(ours) == yaml.safe_load(theirs),
}
"""Asset body differences with the same meaning to Azure, each with its reason."""

# Paths of an asset body only the upload or amlkit's naming decides (asset ids).
_ASSET_IDS = {"properties.modelUri", "properties.properties.amlkit-content-sha256"}


def asset_differences(
    ours: dict[str, Any],
    theirs: dict[str, Any],
    same: Mapping[str, Callable[[Any, Any], bool]] = ASSET_SAME,
) -> dict[str, Any]:
    """The differences of two asset bodies that no asset id, no value left unset on
    either side, and none of `same` explains."""
    return {
        p: v
        for p, v in differences(ours, theirs).items()
        if p not in _ASSET_IDS
        and not (v[0] in (None, {}) and v[1] in (None, {}, False))
        and not same.get(p, lambda ours, theirs: False)(*v)
    }


def assets_as_azure_ai_ml(file: Path, changed: set[str]) -> None:
    """An inline model's or environment's registration: amlkit's body is azure-ai-ml's
    conversion of its `Model` / `Environment`, apart from the upload's URI and amlkit's
    content hash."""
    bodies = _asset_bodies(file)
    assert changed <= set(bodies), f"{changed - set(bodies)}: no azure-ai-ml asset to hold it to"
    for typ in changed:
        unexplained = asset_differences(*bodies[typ])
        assert unexplained == {}, f"{typ}: {unexplained}"


_URL_NAMES = {
    "OnlineDeployment": {"deploymentName": "name", "endpointName": "endpoint_name"},
    "BatchDeployment": {"deploymentName": "name", "endpointName": "endpoint_name"},
    "OnlineEndpoint": {"endpointName": "name"},
    "BatchEndpoint": {"endpointName": "name"},
    "Compute": {"computeName": "name"},
}
"""The names in a resource's PUT URL, as azure-native's inputs and azure-ai-ml's entity
attributes hold them."""


def _never(path: str, ours: Any, theirs: Any) -> bool:
    return False


def same_as_azure_ai_ml(
    plain: Path, file: Path, same: Callable[[str, Any, Any], bool] = _never
) -> None:
    """The names in the URL are azure-ai-ml's, and at each body path the field changed,
    azure-ai-ml sends what amlkit sends, or what the comparison test or `same` tolerates."""
    typ = RENDERED_TYPES[schema_kind(file)]
    (resource,) = render(file).of_type(f"{ML}:{typ}")
    entity = their_entity(file)
    for url, attr in _URL_NAMES[typ].items():
        assert resource.inputs[url] == getattr(entity, attr), url
    ours_before, _ = canonical(plain, amlkit_body(plain, render(plain)))
    ours, _ = canonical(file, amlkit_body(file, render(file)))
    theirs, _ = canonical(file, _their_body(file))
    moved = differences(ours_before, ours)
    for body_path in moved:
        pair = differences(ours, theirs).get(body_path)
        if pair is None:
            continue  # the same in both bodies
        if _tolerance(body_path, *pair) is not None or same(body_path, *pair):
            continue
        if body_path.startswith(("properties.model", "properties.environmentId")):
            # an inline asset's new version: its registration must match az ml's instead
            for typ, (our_asset, their_asset) in _asset_bodies(file).items():
                unexplained = asset_differences(our_asset, their_asset, same={})
                assert unexplained == {}, f"{typ}: {unexplained}"
            continue
        raise AssertionError(f"{body_path}: amlkit sends {pair[0]!r}, azure-ai-ml {pair[1]!r}")


# -- a case ------------------------------------------------------------------------------


def check_case(
    corpus: Path,
    bases: Mapping[str, Base],
    kind: str,
    path: str,
    case: Sent | Elsewhere | Refused | Unsent,
    same: Callable[[str, Any, Any], bool] = _never,
) -> tuple[Path, Path, set[str]] | None:
    """Holds `case` to what every kind shares: a `Refused` file is refused in one line
    naming it; an `Unsent` field changes no request; an `Elsewhere` one changes only its
    resource's; a `Sent` one changes a request, which azure-ai-ml sends alike
    (`same_as_azure_ai_ml`). For the caller's own checks of an `Unsent` or `Sent` case:
    (the file without the field, the file with it, the azure-native types it changed)."""
    base = bases[case.base or kind]
    before_patch = case.before if isinstance(case, Sent | Unsent) else {}
    file = write_file(corpus, base, merge(before_patch, case.patch))
    if isinstance(case, Refused):
        with pytest.raises(ConfigError) as caught:
            load_cli_yaml(file)
        (line,) = str(caught.value).splitlines()
        assert case.message in line and file.name in line
        return None
    plain = write_file(corpus, base, before_patch)
    changed = _requests(plain) ^ _requests(file)
    if isinstance(case, Unsent):
        assert changed == set(), case.reason
        return plain, file, set()
    assert changed, f"{path}: setting it changes nothing amlkit sends"
    if isinstance(case, Elsewhere):
        assert {typ for typ, _, _ in changed} == {case.resource}, case.reason
        return None
    same_as_azure_ai_ml(plain, file, same)
    return plain, file, {typ.removeprefix(f"{ML}:") for typ, _, _ in changed}
