"""Which models, code and environments a stack's deployments use, and under what
name and version each local one is registered.

A local model, code folder or inline environment is registered once per name and
version, as `az ml` registers it: versions are immutable in Azure ML, so two
deployments naming one name and version share one registration, and other
content under the same name and version is a mistake the stack config is refused
for (`check_registrations`), before anything renders. The component that
registers them (`amlkit.components.asset_catalog`) takes its names from here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from .assets import CodeConfiguration, EnvironmentAsset, ModelAsset
from .loader import read_text
from .online_deployment import DEFAULT_COLLECTION_PATH, DataCollector
from .scoring_image import SCORING_IMAGE

if TYPE_CHECKING:
    from .pipeline_batch_deployment import PipelineBatchDeploymentSpec

_SKIP = {"__pycache__", ".git", ".ipynb_checkpoints"}

AssetKind = Literal["model", "code", "environment", "component", "data"]


class UsesAssets(Protocol):
    """A deployment spec, online or batch."""

    @property
    def name(self) -> str: ...
    @property
    def model(self) -> ModelAsset | str | None: ...
    @property
    def code_configuration(self) -> CodeConfiguration | None: ...
    @property
    def environment(self) -> EnvironmentAsset | str | None: ...


@dataclass(frozen=True)
class CollectionAsset:
    """The data asset one data-collector collection writes to, named, versioned and
    placed as `az ml online-deployment create` registers it before the deployment
    (azure-ai-ml `OnlineDeploymentOperations._register_collection_data_assets`)."""

    collection: str
    name: str
    version: str
    path: str
    """The `uri_folder` the data asset points at; Azure writes the collected data there."""


@dataclass(frozen=True)
class AssetUse:
    """The assets one deployment names."""

    owner: str
    """The deployment's name: unnamed local assets are named after it (`<owner>-model`)."""
    kind: Literal["online", "batch"]
    """Which of the stack's images is its default environment."""
    where: str
    """How messages name the deployment: `online endpoint 'score' deployment 'blue'`."""
    model: ModelAsset | str | None
    code: CodeConfiguration | None
    environment: EnvironmentAsset | str | None
    collections: tuple[CollectionAsset, ...] = ()
    """The data assets of its data collector's collections (online deployments only)."""
    pipeline: PipelineBatchDeploymentSpec | None = None
    """A pipeline-component deployment: its component (or job) is registered instead."""

    @property
    def no_code(self) -> bool:
        """Neither code nor environment: Azure's no-code deployment of an MLflow model,
        where Azure picks the scoring script and the environment itself."""
        return self.code is None and self.environment is None


def use_key(endpoint: str, deployment: str) -> str:
    """How `AssetCatalog.ids` keys a deployment's assets."""
    return f"{endpoint}/{deployment}"


def asset_use(
    kind: Literal["online", "batch"], endpoint: str, deployment: UsesAssets
) -> tuple[str, AssetUse]:
    return use_key(endpoint, deployment.name), AssetUse(
        owner=deployment.name,
        kind=kind,
        where=f"{kind} endpoint {endpoint!r} deployment {deployment.name!r}",
        model=deployment.model,
        code=deployment.code_configuration,
        environment=deployment.environment,
        collections=collection_assets(endpoint, deployment),
    )


def collection_assets(endpoint: str, deployment: UsesAssets) -> tuple[CollectionAsset, ...]:
    """One data asset a collection of the deployment's data collector, as az ml
    registers it: `<endpoint>-<deployment>-<collection>`, version `1`, under
    `DEFAULT_COLLECTION_PATH/<endpoint>/<deployment>/<collection>`, each replaced
    by what the collection's `data` block gives."""
    collector: DataCollector | None = getattr(deployment, "data_collector", None)
    if collector is None:
        return ()
    found = []
    for collection, settings in collector.collections.items():
        data = settings.data
        found.append(
            CollectionAsset(
                collection=collection,
                name=(data.name if data else None) or f"{endpoint}-{deployment.name}-{collection}",
                version=(data.version if data else None) or "1",
                path=(data.path if data else None)
                or f"{DEFAULT_COLLECTION_PATH}/{endpoint}/{deployment.name}/{collection}",
            )
        )
    return tuple(found)


def pipeline_use(endpoint: str, deployment: PipelineBatchDeploymentSpec) -> tuple[str, AssetUse]:
    """A pipeline-component deployment names no model, code or environment of its
    own; its steps' code and environments are registered with its component."""
    return use_key(endpoint, deployment.name), AssetUse(
        owner=deployment.name,
        kind="batch",
        where=f"batch endpoint {endpoint!r} deployment {deployment.name!r}",
        model=None,
        code=None,
        environment=None,
        pipeline=deployment,
    )


@dataclass(frozen=True)
class Registration:
    """A local asset as Azure ML registers it."""

    kind: AssetKind
    name: str
    version: str
    version_given: bool
    """False when the version is amlkit's content hash (then equal keys mean equal content)."""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def is_local_code(code: CodeConfiguration) -> bool:
    return not (code.code.startswith("azureml:") or code.code.startswith("/subscriptions/"))


def is_own_environment(environment: EnvironmentAsset | str | None) -> bool:
    """An inline environment other than the stack's scoring image."""
    return isinstance(environment, EnvironmentAsset) and environment.image != SCORING_IMAGE


def model_registration(model: ModelAsset, owner: str, digest: str) -> Registration:
    name = model.name or f"{owner}-model"
    return Registration("model", name, model.version or digest[:12], model.version is not None)


def code_registration(owner: str, digest: str) -> Registration:
    # As `az ml` does: code is an anonymous-style asset named by its content.
    return Registration("code", f"{slug(owner)}-code", digest[:12], False)


def environment_registration(
    environment: EnvironmentAsset, owner: str, digest: str
) -> Registration:
    name = environment.name or f"{slug(owner)}-env"
    version = environment.version or digest[:12]
    return Registration("environment", name, version, environment.version is not None)


def folder_files(path: Path) -> list[Path]:
    """The files of a folder (or the file itself), in a stable order, skipping caches
    and hidden files (`.gitignore`, `.amlignore`, editor files)."""
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not _SKIP.intersection(p.relative_to(path).parts)
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def content_hash(path: Path) -> str:
    """sha256 over relative paths and contents: equal folders, equal hashes."""
    digest = hashlib.sha256()
    base = path if path.is_dir() else path.parent
    for file in folder_files(path):
        digest.update(file.relative_to(base).as_posix().encode() + b"\0")
        with file.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def conda_text(environment: EnvironmentAsset) -> str | None:
    """The conda file's text, read strictly (a regular file of at most 512 KiB; `loader`)."""
    if environment.conda_file is None:
        return None
    return read_text(Path(environment.conda_file))


def environment_hash(environment: EnvironmentAsset) -> str:
    """sha256 over the image, the conda file's text and whatever else the registered
    version holds (description, OS type, inference routes) where set: a version is
    immutable in Azure, and two environments of one owner (a pipeline's steps) that
    differ only there are two registrations, not one with the other's fields. Unset,
    they leave the hash as it was (image and conda file only)."""
    extra = environment.model_dump(
        include={"description", "os_type", "inference_config"}, exclude_defaults=True
    )
    text = f"{environment.image}\0{conda_text(environment) or ''}"
    if extra:
        text += "\0" + json.dumps(extra, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def check_registrations(uses: Mapping[str, AssetUse]) -> None:
    """Refuse one name and version registered with other content by two deployments.

    Contents are hashed only where a clash is possible (a version given twice), so
    a config check does not read every model."""
    named: dict[tuple[AssetKind, str, str], list[tuple[AssetUse, ModelAsset | EnvironmentAsset]]]
    named = {}
    for use in uses.values():
        for asset, registration in _given_versions(use):
            key = (registration.kind, registration.name, registration.version)
            named.setdefault(key, []).append((use, asset))
    _check_collections(uses)
    for (kind, name, version), users in named.items():
        digests = {_hash(asset) for _, asset in users}
        if len(digests) > 1 and None not in digests:
            first, *others = (use.where for use, _ in users)
            raise ValueError(
                f"{kind} {name}:{version} is registered by {first} and by "
                f"{', '.join(others)} with other content; versions are immutable in Azure ML: "
                "give one of them another name or version"
            )


def _check_collections(uses: Mapping[str, AssetUse]) -> None:
    """Two collections naming one data asset version must point it at one path."""
    paths: dict[tuple[str, str], tuple[str, str]] = {}
    for use in uses.values():
        for asset in use.collections:
            where = f"{use.where} collection {asset.collection!r}"
            first = paths.setdefault((asset.name, asset.version), (asset.path, where))
            if first[0] != asset.path:
                raise ValueError(
                    f"data {asset.name}:{asset.version} is registered by {first[1]} at "
                    f"{first[0]} and by {where} at {asset.path}; versions are immutable in "
                    "Azure ML: give one of them another data.name or data.version"
                )


def _given_versions(
    use: AssetUse,
) -> Iterable[tuple[ModelAsset | EnvironmentAsset, Registration]]:
    if isinstance(use.model, ModelAsset) and use.model.version is not None:
        yield use.model, model_registration(use.model, use.owner, "")
    environment = use.environment
    if (
        isinstance(environment, EnvironmentAsset)
        and is_own_environment(environment)
        and environment.version is not None
    ):
        yield environment, environment_registration(environment, use.owner, "")


def _hash(asset: ModelAsset | EnvironmentAsset) -> str | None:
    """None when a file cannot be read; the path rules report that themselves."""
    try:
        if isinstance(asset, ModelAsset):
            return content_hash(Path(asset.path))
        return environment_hash(asset)
    except OSError:
        return None
