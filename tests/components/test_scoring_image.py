"""The runtime's images: built from runtime-image/, pushed, registered by digest; the
online one with the routes amlkit-serve answers on, the batch one for Azure's driver."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi

from amlkit.components.scoring_image import ScoringImage, ScoringImageArgs
from amlkit.components.workspace_ref import WorkspaceRef
from amlkit.plan.mock_engine import Recording
from amlkit.specs import StackEnvironment
from amlkit.specs.scoring_image import ScoringImageSpec
from tests.conftest import ROOT

LOGIN_SERVER = "cramlkittest.azurecr.io"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _image(render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef) -> Recording:
    spec = ScoringImageSpec.model_validate(
        {"context": str(ROOT / "runtime-image"), "repository": "amlkit/scoring"}
    )

    def program() -> None:
        image = ScoringImage(
            "scoring-image",
            ScoringImageArgs(
                spec=spec,
                environment=environment,
                workspace=workspace_ref,
                registry_login_server=LOGIN_SERVER,
            ),
        )
        pulumi.export("image_ref", image.image_ref)
        pulumi.export("environment_id", image.environment_id)
        pulumi.export("batch_image_ref", image.batch_image_ref)
        pulumi.export("batch_environment_id", image.batch_environment_id)

    recording: Recording = render(program)
    return recording


def test_built_from_runtime_image_and_pushed_to_the_stack_registry(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    rec = _image(render, environment, workspace_ref)
    image = rec.one("docker-build:index:Image", "scoring-image")
    assert image.inputs["context"] == {"location": str(ROOT / "runtime-image")}
    assert image.inputs["dockerfile"] == {"location": str(ROOT / "runtime-image" / "Dockerfile")}
    assert Path(image.inputs["dockerfile"]["location"]).is_file()
    assert image.inputs["platforms"] == ["linux/amd64"]
    assert image.inputs["push"] is True
    # A tag for people; it names the environment, never `latest`.
    assert image.inputs["tags"] == [f"{LOGIN_SERVER}/amlkit/scoring:{environment.name}"]
    batch = rec.one("docker-build:index:Image", "scoring-image-batch")
    assert batch.inputs["context"] == image.inputs["context"]
    dockerfile = Path(batch.inputs["dockerfile"]["location"])
    assert dockerfile == ROOT / "runtime-image" / "Dockerfile.batch" and dockerfile.is_file()
    assert batch.inputs["tags"] == [f"{LOGIN_SERVER}/amlkit/batch:{environment.name}"]


def test_environment_names_the_image_by_digest(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    rec = _image(render, environment, workspace_ref)
    digest = rec.one("docker-build:index:Image", "scoring-image").outputs["digest"]
    assert DIGEST.match(digest)
    version = rec.one(
        "azure-native:machinelearningservices:EnvironmentVersion", "scoring-image-environment"
    )
    assert version.inputs["name"] == "amlkit-scoring"
    assert version.inputs["version"] == digest.removeprefix("sha256:")[:12]
    props = version.inputs["properties"]
    assert props["image"] == f"{LOGIN_SERVER}/amlkit/scoring@{digest}"
    assert ":latest" not in props["image"]
    assert props["osType"] == "Linux"
    assert props["properties"] == {"amlkit-image-digest": digest}
    # The image runs its own server: Azure must not start its inference stack in it.
    assert props["inferenceConfig"] == {
        "livenessRoute": {"port": 5001, "path": "/liveness"},
        "readinessRoute": {"port": 5001, "path": "/readiness"},
        "scoringRoute": {"port": 5001, "path": "/score"},
    }
    assert rec.outputs["image_ref"] == props["image"]
    assert rec.outputs["environment_id"] == version.outputs["id"]
    assert version.outputs["id"].endswith(
        f"/environments/amlkit-scoring/versions/{digest.removeprefix('sha256:')[:12]}"
    )


def test_the_batch_environment_has_no_routes_and_its_own_digest(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    rec = _image(render, environment, workspace_ref)
    digest = rec.one("docker-build:index:Image", "scoring-image-batch").outputs["digest"]
    version = rec.one(
        "azure-native:machinelearningservices:EnvironmentVersion", "scoring-image-batch-environment"
    )
    assert version.inputs["name"] == "amlkit-batch"
    props = version.inputs["properties"]
    assert props["image"] == f"{LOGIN_SERVER}/amlkit/batch@{digest}"
    assert "inferenceConfig" not in props  # a batch job serves nothing
    assert rec.outputs["batch_environment_id"] == version.outputs["id"]
    assert rec.outputs["batch_environment_id"] != rec.outputs["environment_id"]
