"""The runtime's images: built from runtime-image/, pushed, registered by digest.

Two images come from `runtime-image/`, and each is registered as an Azure ML
environment version that names it by digest (`<registry>/<repository>@sha256:...`),
never by a moving tag (checkov CKV_DOCKER_7):

- **online** (`Dockerfile`): its `CMD` starts amlkit-serve on port 5001. The
  environment carries `inference_config` (liveness, readiness and scoring routes on
  that port), which is what tells Azure ML the image runs its own server. Without
  it, Azure treats an environment as one of its own inference images and starts its
  own inference stack inside (Microsoft's "Use a custom container to deploy a model
  to an online endpoint"; the SDK's local emulator appends
  `CMD ["runsvdir","/var/runit"]` to such images). Managed and Kubernetes online
  deployments without an environment of their own run it. Azure mounts the
  deployment's code at `AML_APP_ROOT` and its model under `AZUREML_MODEL_DIR`, and
  sets `AZUREML_ENTRY_SCRIPT`, which amlkit-serve reads as azmlinfsrv does.
- **batch** (`Dockerfile.batch`): on Azure, a batch deployment runs Azure's own batch
  driver inside its environment, which calls the scoring script's `init()` and
  `run(mini_batch)`; Microsoft's batch docs require `azureml-core` and
  `azureml-dataset-runtime[fuse]` there ("Author scoring scripts for batch
  deployments"). This image is the runtime plus those; batch deployments without an
  environment of their own run it. `amlkit-batch` is local mode's emulation of that
  driver and is not what Azure calls. No `inference_config`: a batch job serves nothing.

Registry credentials: the registry's admin user stays off, so the push uses the
deployer's own Docker credentials, as `az acr login --name <registry>` writes
them (the provider reads ~/.docker/config.json); CI logs in the same way with
its workload identity before `pulumi up`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker_build as docker_build
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.scoring_image import (
    LIVENESS_PATH,
    READINESS_PATH,
    SCORING_PATH,
    SERVE_PORT,
    ScoringImageSpec,
)
from amlkit.specs.stack import StackEnvironment

from .workspace_ref import WorkspaceRef


@dataclass(frozen=True)
class ScoringImageArgs:
    spec: ScoringImageSpec
    environment: StackEnvironment
    workspace: WorkspaceRef
    registry_login_server: pulumi.Input[str]


@dataclass(frozen=True)
class _Built:
    image_ref: pulumi.Output[str]
    environment_id: pulumi.Output[str]


class ScoringImage(pulumi.ComponentResource):
    """The online and batch images, pushed, and the environment versions that run them."""

    image_ref: pulumi.Output[str]
    """Online image, `<registry>/<repository>@sha256:<digest>`."""
    environment_id: pulumi.Output[str]
    """ARM id of the online environment version: online deployments' default."""
    batch_image_ref: pulumi.Output[str]
    """Batch image, `<registry>/<repository>@sha256:<digest>`."""
    batch_environment_id: pulumi.Output[str]
    """ARM id of the batch environment version: batch deployments' default."""

    def __init__(
        self, name: str, args: ScoringImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:ScoringImage", name, None, opts)
        spec = args.spec
        online = self._build(
            name,
            args,
            dockerfile=spec.dockerfile,
            repository=spec.repository,
            environment_name=spec.environment_name,
            description="amlkit's scoring runtime: amlkit-serve on port 5001.",
            inference_config=ml.InferenceContainerPropertiesArgs(
                liveness_route=ml.RouteArgs(port=SERVE_PORT, path=LIVENESS_PATH),
                readiness_route=ml.RouteArgs(port=SERVE_PORT, path=READINESS_PATH),
                scoring_route=ml.RouteArgs(port=SERVE_PORT, path=SCORING_PATH),
            ),
        )
        batch = self._build(
            f"{name}-batch",
            args,
            dockerfile=spec.batch_dockerfile,
            repository=spec.batch_repository,
            environment_name=spec.batch_environment_name,
            description="amlkit's scoring runtime with Azure ML's batch driver requirements.",
            inference_config=None,
        )
        self.image_ref, self.environment_id = online.image_ref, online.environment_id
        self.batch_image_ref = batch.image_ref
        self.batch_environment_id = batch.environment_id
        self.register_outputs(
            {
                "image_ref": self.image_ref,
                "environment_id": self.environment_id,
                "batch_image_ref": self.batch_image_ref,
                "batch_environment_id": self.batch_environment_id,
            }
        )

    def _build(
        self,
        name: str,
        args: ScoringImageArgs,
        *,
        dockerfile: str,
        repository: str,
        environment_name: str,
        description: str,
        inference_config: ml.InferenceContainerPropertiesArgs | None,
    ) -> _Built:
        context = Path(args.spec.context)
        target = pulumi.Output.concat(args.registry_login_server, "/", repository)
        image = docker_build.Image(
            name,
            context=docker_build.BuildContextArgs(location=str(context)),
            dockerfile=docker_build.DockerfileArgs(location=str(context / dockerfile)),
            platforms=[docker_build.Platform(args.spec.platform)],
            # The tag names the environment for people; deployments use the digest.
            tags=[pulumi.Output.concat(target, ":", args.environment.name)],
            push=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        image_ref = pulumi.Output.concat(target, "@", image.digest)
        environment = ml.EnvironmentVersion(
            f"{name}-environment",
            name=environment_name,
            version=image.digest.apply(lambda d: d.removeprefix("sha256:")[:12]),
            resource_group_name=args.workspace.resource_group_name,
            workspace_name=args.workspace.workspace_name,
            properties=ml.EnvironmentVersionPropertiesArgs(
                image=image_ref,
                os_type="Linux",
                description=description,
                inference_config=inference_config,
                properties={"amlkit-image-digest": image.digest},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return _Built(image_ref, environment.id)
