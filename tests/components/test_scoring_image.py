"""The scoring image: built from runtime-image/, pushed, registered by digest."""

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

    recording: Recording = render(program)
    return recording


def test_built_from_runtime_image_and_pushed_to_the_stack_registry(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    image = _image(render, environment, workspace_ref).one("docker-build:index:Image")
    assert image.inputs["context"] == {"location": str(ROOT / "runtime-image")}
    assert image.inputs["dockerfile"] == {"location": str(ROOT / "runtime-image" / "Dockerfile")}
    assert Path(image.inputs["dockerfile"]["location"]).is_file()
    assert image.inputs["platforms"] == ["linux/amd64"]
    assert image.inputs["push"] is True
    # A tag for people; it names the environment, never `latest`.
    assert image.inputs["tags"] == [f"{LOGIN_SERVER}/amlkit/scoring:{environment.name}"]


def test_environment_names_the_image_by_digest(
    render: Any, environment: StackEnvironment, workspace_ref: WorkspaceRef
) -> None:
    rec = _image(render, environment, workspace_ref)
    digest = rec.one("docker-build:index:Image").outputs["digest"]
    assert DIGEST.match(digest)
    version = rec.one("azure-native:machinelearningservices:EnvironmentVersion")
    assert version.inputs["name"] == "amlkit-scoring"
    assert version.inputs["version"] == digest.removeprefix("sha256:")[:12]
    props = version.inputs["properties"]
    assert props["image"] == f"{LOGIN_SERVER}/amlkit/scoring@{digest}"
    assert ":latest" not in props["image"]
    assert props["osType"] == "Linux"
    assert props["properties"] == {"amlkit-image-digest": digest}
    # No inference_config: amlkit-serve answers on Azure's own inference-server routes.
    assert "inferenceConfig" not in props
    assert rec.outputs["image_ref"] == props["image"]
    assert rec.outputs["environment_id"] == version.outputs["id"]
    assert version.outputs["id"].endswith(
        f"/environments/amlkit-scoring/versions/{digest.removeprefix('sha256:')[:12]}"
    )
