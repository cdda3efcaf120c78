"""The models, code and environments a stack's deployments use, registered once.

Assets are handled as `az ml` handles them:
- a registered reference (`azureml:name:version`) becomes the full ARM id Azure
  expects; `azureml:name@latest` is resolved to the container's latest version at
  deploy time; registry references (`azureml://registries/...`) and ARM ids pass as is;
- a local model or code folder is uploaded, one blob per file, under a
  content-addressed prefix (`LocalUpload/<sha256>/...`) of the stack's asset
  container, and registered as a model or code version whose version is that hash
  (unless the spec names one), so a change uploads and registers anew and an
  unchanged folder changes nothing;
- an inline environment (image, optionally a conda file) becomes an environment
  version; an omitted environment, or `image: scoring-image`, is the stack's own
  scoring image.

Two deployments naming the same asset share one registration: the catalog is a
single component that deployments ask, rather than each deployment owning a copy
of a resource that only exists once in Azure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_azure_native import authorization, storage
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.assets import CodeConfiguration, EnvironmentAsset, ModelAsset
from amlkit.specs.scoring_image import SCORING_IMAGE

from .workspace_ref import WorkspaceRef

_SKIP = {"__pycache__", ".git", ".ipynb_checkpoints"}
_MODEL_TYPES = {
    "custom_model": "custom_model",
    "mlflow_model": "mlflow_model",
    "triton_model": "triton_model",
}
_REFERENCE = re.compile(r"^azureml:(?P<name>[^:@]+)(?::(?P<version>.+)|@latest)$")


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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class AssetCatalogArgs:
    workspace: WorkspaceRef
    default_environment_id: pulumi.Input[str] | None = None
    """The stack's scoring image environment version, for deployments without one."""


class AssetCatalog(pulumi.ComponentResource):
    """Registers each asset once and hands out the ARM ids deployments reference."""

    def __init__(
        self, name: str, args: AssetCatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:AssetCatalog", name, None, opts)
        self._name = name
        self._args = args
        self._ws = args.workspace
        self._ids: dict[tuple[str, str, str], pulumi.Output[str]] = {}
        self._digests: dict[tuple[str, str, str], str] = {}
        self._subscription = authorization.get_client_config_output().subscription_id
        self.register_outputs({})

    # -- references -----------------------------------------------------------------

    def _reference_id(self, kind: str, reference: str) -> pulumi.Output[str]:
        """`azureml:name:version` -> `<workspace id>/<kind>/name/versions/version`."""
        if not reference.startswith("azureml:") or reference.startswith("azureml://"):
            return pulumi.Output.from_input(reference)
        match = _REFERENCE.match(reference)
        if match is None:  # the spec's pattern admits nothing else; kept for safety
            raise ValueError(f"cannot read asset reference {reference!r}")
        name, version = match["name"], match["version"]
        if version is None:
            version = self._latest(kind, name)
        return pulumi.Output.concat(self._ws.workspace_id, f"/{kind}/{name}/versions/", version)

    def _latest(self, kind: str, name: str) -> pulumi.Output[str]:
        getter = {
            "models": ml.get_model_container_output,
            "codes": ml.get_code_container_output,
            "environments": ml.get_environment_container_output,
        }[kind]
        container = getter(
            name=name,
            resource_group_name=self._ws.resource_group_name,
            workspace_name=self._ws.workspace_name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return container.properties.apply(lambda p: p.latest_version)

    # -- uploads ----------------------------------------------------------------------

    def _upload(self, key: str, path: Path, digest: str) -> pulumi.Output[str]:
        """Upload a file or folder; returns its `azureml://` datastore URI."""
        prefix = f"LocalUpload/{digest[:32]}/{path.name}"
        blobs = []
        for file in folder_files(path):
            relative = file.relative_to(path).as_posix() if path.is_dir() else ""
            blob_name = f"{prefix}/{relative}" if relative else prefix
            blobs.append(
                storage.Blob(
                    f"{self._name}-{key}-{_slug(relative or path.name)}-{hashlib.sha256(blob_name.encode()).hexdigest()[:8]}",
                    account_name=self._ws.asset_storage_account_name,
                    container_name=self._ws.asset_container_name,
                    resource_group_name=self._ws.resource_group_name,
                    blob_name=blob_name,
                    type=storage.BlobType.BLOCK,
                    source=pulumi.FileAsset(str(file)),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        uploaded = pulumi.Output.all(*[b.id for b in blobs])
        return pulumi.Output.all(
            self._subscription,
            self._ws.resource_group_name,
            self._ws.workspace_name,
            self._ws.asset_datastore_name,
            uploaded,
        ).apply(
            lambda v: (
                f"azureml://subscriptions/{v[0]}/resourcegroups/{v[1]}/workspaces/{v[2]}"
                f"/datastores/{v[3]}/paths/{prefix}"
            )
        )

    def _same_content(self, key: tuple[str, str, str], digest: str, owner: str) -> None:
        """One name and version is one registration; versions are immutable in Azure ML,
        so other content under the same name and version is a mistake, not a share.
        Raised as a RunError: the engine prints the line, without a traceback."""
        known = self._digests.setdefault(key, digest)
        if known != digest:
            kind, name, version = key
            raise pulumi.RunError(
                f"{owner}: {kind} {name}:{version} is already used by another deployment of "
                f"this stack with other content; give one of them another name or version"
            )

    # -- what deployments ask ------------------------------------------------------------

    def model_id(self, model: ModelAsset | str, owner: str) -> pulumi.Output[str]:
        """The ARM id of a deployment's model; inline models are uploaded and registered."""
        if isinstance(model, str):
            return self._reference_id("models", model)
        path = Path(model.path)
        digest = content_hash(path)
        name = model.name or f"{owner}-model"
        version = model.version or digest[:12]
        key = ("model", name, version)
        self._same_content(key, digest, owner)
        if key not in self._ids:
            uri = self._upload(f"model-{_slug(name)}-{_slug(version)}", path, digest)
            registered = ml.ModelVersion(
                f"{self._name}-model-{_slug(name)}-{_slug(version)}",
                name=name,
                version=version,
                resource_group_name=self._ws.resource_group_name,
                workspace_name=self._ws.workspace_name,
                properties=ml.ModelVersionPropertiesArgs(
                    model_uri=uri,
                    model_type=_MODEL_TYPES[model.type],
                    description=model.description,
                    properties={"amlkit-content-sha256": digest},
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._ids[key] = registered.id
        return self._ids[key]

    def code_id(self, code: CodeConfiguration, owner: str) -> pulumi.Output[str]:
        """The ARM id of a deployment's scoring code; a local folder is uploaded and registered."""
        if code.code.startswith("azureml:") or code.code.startswith("/subscriptions/"):
            return self._reference_id("codes", code.code)
        path = Path(code.code)
        digest = content_hash(path)
        # As `az ml` does: code is an anonymous-style asset named by its content.
        name, version = f"{_slug(owner)}-code", digest[:12]
        key = ("code", name, version)
        if key not in self._ids:
            uri = self._upload(f"code-{name}-{version}", path, digest)
            registered = ml.CodeVersion(
                f"{self._name}-code-{name}-{version}",
                name=name,
                version=version,
                resource_group_name=self._ws.resource_group_name,
                workspace_name=self._ws.workspace_name,
                properties=ml.CodeVersionPropertiesArgs(
                    code_uri=uri, properties={"amlkit-content-sha256": digest}
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._ids[key] = registered.id
        return self._ids[key]

    def environment_id(
        self, environment: EnvironmentAsset | str | None, owner: str
    ) -> pulumi.Output[str]:
        """The ARM id of a deployment's environment; the stack's scoring image by default."""
        if isinstance(environment, str):
            return self._reference_id("environments", environment)
        if environment is None or environment.image == SCORING_IMAGE:
            if self._args.default_environment_id is None:
                raise ValueError(f"{owner}: no environment, and the stack has no scoring image")
            return pulumi.Output.from_input(self._args.default_environment_id)
        conda = (
            Path(environment.conda_file).read_text(encoding="utf-8")
            if environment.conda_file
            else None
        )
        digest = hashlib.sha256(f"{environment.image}\0{conda or ''}".encode()).hexdigest()
        name = environment.name or f"{_slug(owner)}-env"
        version = environment.version or digest[:12]
        key = ("environment", name, version)
        self._same_content(key, digest, owner)
        if key not in self._ids:
            routes = environment.inference_config
            registered = ml.EnvironmentVersion(
                f"{self._name}-environment-{_slug(name)}-{_slug(version)}",
                name=name,
                version=version,
                resource_group_name=self._ws.resource_group_name,
                workspace_name=self._ws.workspace_name,
                properties=ml.EnvironmentVersionPropertiesArgs(
                    image=environment.image,
                    conda_file=conda,
                    os_type="Linux" if environment.os_type == "linux" else "Windows",
                    description=environment.description,
                    inference_config=ml.InferenceContainerPropertiesArgs(
                        liveness_route=ml.RouteArgs(
                            port=routes.liveness_route.port, path=routes.liveness_route.path
                        ),
                        readiness_route=ml.RouteArgs(
                            port=routes.readiness_route.port, path=routes.readiness_route.path
                        ),
                        scoring_route=ml.RouteArgs(
                            port=routes.scoring_route.port, path=routes.scoring_route.path
                        ),
                    )
                    if routes
                    else None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._ids[key] = registered.id
        return self._ids[key]
