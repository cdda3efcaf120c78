"""The models, code, environments and components a stack's deployments use, registered once.

Assets are handled as `az ml` handles them:
- a registered reference (`azureml:name:version`) becomes the full ARM id Azure
  expects; `azureml:name@latest` is resolved to the container's latest version at
  deploy time; registry references (`azureml://registries/...`) and ARM ids pass as is;
- a local model or code folder is uploaded, one blob per file, under a
  content-addressed prefix (`LocalUpload/<sha256>/...`) of the stack's asset
  container, and registered as a model or code version whose version is that hash
  (unless the spec names one), so a change uploads and registers anew and an
  unchanged folder changes nothing;
- each collection of an online deployment's data collector gets a `uri_folder` data
  asset where Azure writes what it collects, named, versioned and placed as
  `az ml online-deployment create` registers it (`asset_uses.collection_assets`);
  the deployment sends its id as the collection's `dataId`;
- an inline environment (image, optionally a conda file) becomes an environment
  version; an omitted environment, or `image: scoring-image`, is the stack's own
  runtime image: the online one for online deployments, the batch one (with Azure's
  batch driver requirements) for batch deployments;
- a pipeline-component batch deployment's local component is registered as
  `az ml batch-deployment create` registers it: each step's code and environment as
  above, then each command component and the pipeline component as anonymous
  component versions (`azureml_anonymous`, versioned by a hash of their content)
  whose `componentSpec` is azure-ai-ml's (`component_spec.py`); a deployment from a
  job registers the component az ml derives from the job (`sourceJobId`).

One catalog registers every deployment's assets in its constructor, and two
deployments naming the same asset share one registration: in Azure an asset
version exists once, whoever names it. Names and versions, and the rule that one
name and version holds one content, come from `amlkit.specs.asset_uses`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pulumi
from pulumi_azure_native import authorization, storage
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.asset_uses import (
    AssetUse,
    CollectionAsset,
    Registration,
    code_registration,
    conda_text,
    content_hash,
    environment_hash,
    environment_registration,
    folder_files,
    is_local_code,
    is_own_environment,
    model_registration,
    slug,
)
from amlkit.specs.assets import CodeConfiguration, EnvironmentAsset, ModelAsset, Route
from amlkit.specs.pipeline_batch_deployment import PipelineBatchDeploymentSpec
from amlkit.specs.pipeline_component import CommandComponentSpec, PipelineComponentSpec

from .component_spec import (
    ANONYMOUS,
    command_component_spec,
    component_version,
    from_job_spec,
    pipeline_component_spec,
)
from .workspace_ref import WorkspaceRef

_REFERENCE = re.compile(r"^azureml:(?P<name>[^:@]+)(?::(?P<version>.+)|@latest)$")


@dataclass(frozen=True)
class AssetCatalogArgs:
    workspace: WorkspaceRef
    uses: Mapping[str, AssetUse]
    """Every deployment's assets, by `asset_uses.use_key(endpoint, deployment)`."""
    default_environment_id: pulumi.Input[str] | None = None
    """The stack's online image environment version, for online deployments without one."""
    batch_environment_id: pulumi.Input[str] | None = None
    """The stack's batch image environment version, for batch deployments without one."""


@dataclass(frozen=True)
class AssetIds:
    """The ARM ids one deployment references; None where it names no such asset."""

    model_id: pulumi.Output[str] | None
    code_id: pulumi.Output[str] | None
    environment_id: pulumi.Output[str] | None
    """None for a no-code deployment (Azure picks the environment)."""
    data_ids: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """The data asset of each data-collector collection, by collection name."""
    component_id: pulumi.Output[str] | None = None
    """A pipeline-component deployment's component (registered, or a reference resolved)."""


class AssetCatalog(pulumi.ComponentResource):
    """Registers each asset once and hands out the ARM ids deployments reference."""

    ids: Mapping[str, AssetIds]
    """By the keys of `AssetCatalogArgs.uses`."""

    def __init__(
        self, name: str, args: AssetCatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:AssetCatalog", name, None, opts)
        self._name = name
        self._ws = args.workspace
        self._defaults = {
            "online": args.default_environment_id,
            "batch": args.batch_environment_id,
        }
        self._registered: dict[tuple[str, str, str], pulumi.Output[str]] = {}
        self._subscription = authorization.get_client_config_output().subscription_id
        self.ids = {key: self._register(use) for key, use in args.uses.items()}
        self.register_outputs(
            {f"{kind}:{n}:{v}": arm_id for (kind, n, v), arm_id in self._registered.items()}
        )

    def _register(self, use: AssetUse) -> AssetIds:
        return AssetIds(
            model_id=self._model(use.model, use.owner) if use.model is not None else None,
            code_id=self._code(use.code, use.owner) if use.code is not None else None,
            environment_id=None if use.no_code else self._environment(use),
            data_ids={asset.collection: self._data(asset) for asset in use.collections},
            component_id=self._pipeline(use.pipeline) if use.pipeline is not None else None,
        )

    # -- references -----------------------------------------------------------------

    def _reference_id(self, kind: str, reference: str) -> pulumi.Output[str]:
        """`azureml:name:version` -> `<workspace id>/<kind>/name/versions/version`."""
        if not reference.startswith("azureml:") or reference.startswith("azureml://"):
            return pulumi.Output.from_input(reference)
        match = _REFERENCE.match(reference)
        if match is None:  # the spec's pattern admits nothing else
            raise ValueError(f"amlkit bug: asset reference {reference!r} passed the spec")
        name, version = match["name"], match["version"]
        if version is None:
            version = self._latest(kind, name)
        return pulumi.Output.concat(self._ws.workspace_id, f"/{kind}/{name}/versions/", version)

    def _latest(self, kind: str, name: str) -> pulumi.Output[str]:
        getter = {
            "models": ml.get_model_container_output,
            "codes": ml.get_code_container_output,
            "environments": ml.get_environment_container_output,
            "components": ml.get_component_container_output,
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
                    f"{self._name}-{key}-{slug(relative or path.name)}-{hashlib.sha256(blob_name.encode()).hexdigest()[:8]}",
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

    def _once(self, registration: Registration) -> pulumi.Output[str] | None:
        return self._registered.get(_key(registration))

    def _id_of(self, registration: Registration, resource: pulumi.CustomResource) -> None:
        self._registered[_key(registration)] = resource.id

    # -- registrations -------------------------------------------------------------------

    def _model(self, model: ModelAsset | str, owner: str) -> pulumi.Output[str]:
        if isinstance(model, str):
            return self._reference_id("models", model)
        path = Path(model.path)
        digest = content_hash(path)
        reg = model_registration(model, owner, digest)
        known = self._once(reg)
        if known is not None:
            return known
        resource_key = f"model-{slug(reg.name)}-{slug(reg.version)}"
        uri = self._upload(resource_key, path, digest)
        registered = ml.ModelVersion(
            f"{self._name}-{resource_key}",
            name=reg.name,
            version=reg.version,
            resource_group_name=self._ws.resource_group_name,
            workspace_name=self._ws.workspace_name,
            properties=ml.ModelVersionPropertiesArgs(
                model_uri=uri,
                model_type=model.type,
                description=model.description,
                properties={"amlkit-content-sha256": digest},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._id_of(reg, registered)
        return registered.id

    def _code(self, code: CodeConfiguration, owner: str) -> pulumi.Output[str]:
        if not is_local_code(code):
            return self._reference_id("codes", code.code)
        return self._code_folder(Path(code.code), owner)

    def _code_folder(self, path: Path, owner: str) -> pulumi.Output[str]:
        digest = content_hash(path)
        reg = code_registration(owner, digest)
        known = self._once(reg)
        if known is not None:
            return known
        resource_key = f"code-{reg.name}-{reg.version}"
        uri = self._upload(resource_key, path, digest)
        registered = ml.CodeVersion(
            f"{self._name}-{resource_key}",
            name=reg.name,
            version=reg.version,
            resource_group_name=self._ws.resource_group_name,
            workspace_name=self._ws.workspace_name,
            properties=ml.CodeVersionPropertiesArgs(
                code_uri=uri, properties={"amlkit-content-sha256": digest}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._id_of(reg, registered)
        return registered.id

    def _environment(self, use: AssetUse) -> pulumi.Output[str]:
        return self._environment_of(use.environment, use.owner, use.kind, use.where)

    def _environment_of(
        self,
        environment: EnvironmentAsset | str | None,
        owner: str,
        kind: Literal["online", "batch"],
        where: str,
    ) -> pulumi.Output[str]:
        if isinstance(environment, str):
            return self._reference_id("environments", environment)
        if environment is None or not is_own_environment(environment):
            default = self._defaults[kind]
            if default is None:  # the stack program always passes both
                raise ValueError(f"amlkit bug: {where} has no {kind} image environment")
            return pulumi.Output.from_input(default)
        reg = environment_registration(environment, owner, environment_hash(environment))
        known = self._once(reg)
        if known is not None:
            return known
        routes = environment.inference_config
        registered = ml.EnvironmentVersion(
            f"{self._name}-environment-{slug(reg.name)}-{slug(reg.version)}",
            name=reg.name,
            version=reg.version,
            resource_group_name=self._ws.resource_group_name,
            workspace_name=self._ws.workspace_name,
            properties=ml.EnvironmentVersionPropertiesArgs(
                image=environment.image,
                conda_file=conda_text(environment),
                os_type="Linux" if environment.os_type == "linux" else "Windows",
                description=environment.description,
                inference_config=ml.InferenceContainerPropertiesArgs(
                    liveness_route=_route(routes.liveness_route),
                    readiness_route=_route(routes.readiness_route),
                    scoring_route=_route(routes.scoring_route),
                )
                if routes
                else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._id_of(reg, registered)
        return registered.id

    def _data(self, asset: CollectionAsset) -> pulumi.Output[str]:
        """A collection's data asset; two collections naming one version share it
        (`check_registrations` refused other paths under one version)."""
        reg = Registration("data", asset.name, asset.version, True)
        known = self._once(reg)
        if known is not None:
            return known
        registered = ml.DataVersion(
            f"{self._name}-data-{slug(asset.name)}-{slug(asset.version)}",
            name=asset.name,
            version=asset.version,
            resource_group_name=self._ws.resource_group_name,
            workspace_name=self._ws.workspace_name,
            # What azure-ai-ml's `Data(name, version, path)` sends: a uri_folder, not
            # anonymous, not archived (tests/plan/test_azure_fidelity.py compares them).
            properties=ml.UriFolderDataVersionArgs(
                data_type="uri_folder", data_uri=asset.path, is_anonymous=False, is_archived=False
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._id_of(reg, registered)
        return registered.id

    # -- pipeline components ------------------------------------------------------------

    def _pipeline(self, deployment: PipelineBatchDeploymentSpec) -> pulumi.Output[str]:
        """The component a pipeline-component deployment runs, as `az ml` resolves it."""
        if deployment.job_definition is not None:
            return self._from_job(deployment.job_definition)
        if isinstance(deployment.component, PipelineComponentSpec):
            return self._pipeline_component(deployment.component, deployment.name)
        assert deployment.component is not None  # the spec requires one of the two
        return self._reference_id("components", deployment.component)

    def _component_version(
        self,
        version: str,
        label: str,
        spec: pulumi.Input[Any],
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        *,
        command: bool = False,
    ) -> pulumi.Output[str]:
        reg = Registration("component", ANONYMOUS, version, False)
        known = self._once(reg)
        if known is not None:
            return known
        registered = ml.ComponentVersion(
            f"{self._name}-component-{slug(label)}-{version[:12]}",
            name=ANONYMOUS,
            version=version,
            resource_group_name=self._ws.resource_group_name,
            workspace_name=self._ws.workspace_name,
            # A TypedDict: the Args class would add `isArchived`, which azure-ai-ml sends
            # for command components only.
            properties=ml.ComponentVersionPropertiesArgsDict(
                component_spec=spec,
                description=description,
                is_anonymous=True,
                is_archived=False if command else None,
                properties={},
                tags=dict(tags or {}),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._id_of(reg, registered)
        return registered.id

    def _command_component(
        self, spec: CommandComponentSpec, owner: str, where: str
    ) -> tuple[pulumi.Output[str], str]:
        """Its code uploaded and registered, its environment registered, then itself;
        returns its id and the content digest its pipeline's version hashes."""
        code_digest = content_hash(Path(spec.code)) if spec.code is not None else ""
        code_id: pulumi.Output[str] | None = None
        if spec.code is not None:
            code_id = (
                self._reference_id("codes", spec.code)
                if spec.code.startswith(("azureml:", "/subscriptions/"))
                else self._code_folder(Path(spec.code), owner)
            )
        environment = spec.environment
        env_digest = environment if isinstance(environment, str) else environment_hash(environment)
        environment_id = self._environment_of(environment, owner, "batch", where)
        version = component_version(
            command_component_spec(spec, "", None, ""), code_digest, env_digest
        )
        body = pulumi.Output.all(code_id, environment_id).apply(
            lambda ids: command_component_spec(spec, version, ids[0], ids[1])
        )
        label = spec.name or "command"
        component_id = self._component_version(
            version, label, body, spec.description, spec.tags, command=True
        )
        return component_id, version

    def _pipeline_component(self, spec: PipelineComponentSpec, owner: str) -> pulumi.Output[str]:
        where = f"deployment {owner!r} component {spec.name!r}"
        step_ids: dict[str, pulumi.Output[str]] = {}
        digests: list[str] = []
        for name, step in spec.jobs.items():
            if step.local is not None:
                step_ids[name], digest = self._command_component(
                    step.local, owner, f"{where} step {name!r}"
                )
            else:
                assert isinstance(step.component, str)
                step_ids[name] = self._reference_id("components", step.component)
                digest = step.component
            digests.append(f"{name}={digest}")
        version = component_version(
            pipeline_component_spec(spec, "", dict.fromkeys(spec.jobs, "")), *digests
        )
        body = pulumi.Output.all(**step_ids).apply(
            lambda ids: pipeline_component_spec(spec, version, ids)
        )
        return self._component_version(version, spec.name, body, spec.description, spec.tags)

    def _from_job(self, job: str) -> pulumi.Output[str]:
        """az ml derives the component from the job (`PipelineComponent(source_job_id=)`)
        and names the job as the deployment gives it, without `azureml:`."""
        source = job.removeprefix("azureml:")
        version = component_version(from_job_spec(source, ""))
        return self._component_version(
            version, f"job-{source.rsplit('/', 1)[-1]}", from_job_spec(source, version)
        )


def _key(registration: Registration) -> tuple[str, str, str]:
    return (registration.kind, registration.name, registration.version)


def _route(route: Route) -> ml.RouteArgs:
    return ml.RouteArgs(port=route.port, path=route.path)
