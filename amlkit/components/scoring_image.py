"""The shared scoring image: built from runtime-image/, pushed, registered by digest.

The image is built with Pulumi's Docker Build provider and pushed to the stack's
registry, then registered as an Azure ML environment version that names the
image by digest (`<registry>/<repository>@sha256:...`), never by a moving tag
(checkov CKV_DOCKER_7). Every deployment without an environment of its own runs it.

Registry credentials: the registry's admin user stays off, so the push uses the
deployer's own Docker credentials, as `az acr login --name <registry>` writes
them (the provider reads ~/.docker/config.json); CI logs in the same way with
its workload identity before `pulumi up`.

No `inference_config` is registered: amlkit-serve answers on Azure ML's inference
server contract (port 5001, `GET /`, `POST /score`), so Azure runs the image as
it runs its own inference images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker_build as docker_build
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.scoring_image import ScoringImageSpec
from amlkit.specs.stack import StackEnvironment

from .workspace_ref import WorkspaceRef


@dataclass(frozen=True)
class ScoringImageArgs:
    spec: ScoringImageSpec
    environment: StackEnvironment
    workspace: WorkspaceRef
    registry_login_server: pulumi.Input[str]


class ScoringImage(pulumi.ComponentResource):
    """The image, pushed, and the Azure ML environment version that runs it."""

    image_ref: pulumi.Output[str]
    """`<registry>/<repository>@sha256:<digest>`: what the environment runs."""
    environment_id: pulumi.Output[str]
    """ARM id of the environment version, the default environment of deployments."""

    def __init__(
        self, name: str, args: ScoringImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:ScoringImage", name, None, opts)
        spec = args.spec
        context = Path(spec.context)
        repository = pulumi.Output.concat(args.registry_login_server, "/", spec.repository)
        image = docker_build.Image(
            name,
            context=docker_build.BuildContextArgs(location=str(context)),
            dockerfile=docker_build.DockerfileArgs(location=str(context / spec.dockerfile)),
            platforms=[docker_build.Platform(spec.platform)],
            # The tag names the environment for people; deployments use the digest.
            tags=[pulumi.Output.concat(repository, ":", args.environment.name)],
            push=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = pulumi.Output.concat(repository, "@", image.digest)
        version = image.digest.apply(lambda d: d.removeprefix("sha256:")[:12])
        environment = ml.EnvironmentVersion(
            f"{name}-environment",
            name=spec.environment_name,
            version=version,
            resource_group_name=args.workspace.resource_group_name,
            workspace_name=args.workspace.workspace_name,
            properties=ml.EnvironmentVersionPropertiesArgs(
                image=self.image_ref,
                os_type="Linux",
                description="amlkit's shared scoring runtime (amlkit-serve, amlkit-batch).",
                properties={"amlkit-image-digest": image.digest},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.environment_id = environment.id
        self.register_outputs({"image_ref": self.image_ref, "environment_id": self.environment_id})
