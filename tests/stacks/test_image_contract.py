"""The online image's contract, end to end: what the plan registers and what the
Dockerfile starts must answer each other.

No container engine runs here, so the container is stood up as Azure would stand it
up, from three sources none of which this test invents:
- the rendered dev plan: the online deployment, the environment version it runs (its
  `inference_config` routes), its code and model as amlkit uploads them (each blob's
  source file), its environment variables;
- azure-ai-ml's own emulator of a deployment's container (`AzureMlImageContext`):
  where Azure mounts the code and the model, and the variables it sets
  (`AML_APP_ROOT`, `AZUREML_ENTRY_SCRIPT`, `AZUREML_MODEL_DIR`);
- `runtime-image/Dockerfile`, read with dockerfile-parse: its `ENV`, `WORKDIR`,
  `EXPOSE` and the `CMD` that starts the server.
Container paths are laid out under a temporary root; then the CMD runs, with no added
argument, and the routes the environment names are probed over HTTP. If the plan's
routes, the Dockerfile's CMD or the server's defaults drift apart, this fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.ai.ml._local_endpoints.azureml_image_context import AzureMlImageContext
from dockerfile_parse import DockerfileParser

from tests.conftest import ROOT, ShippedPlan

pytestmark = pytest.mark.slow

ML = "azure-native:machinelearningservices"
DOCKERFILE = ROOT / "runtime-image" / "Dockerfile"
SAMPLE_REQUEST = ROOT / "runtime-image" / "sample" / "sample-request.json"


def _one(plan: dict[str, Any], typ: str, **inputs: Any) -> dict[str, Any]:
    found = [
        r
        for r in plan["resources"]
        if r["type"] == typ and all(r["inputs"].get(k) == v for k, v in inputs.items())
    ]
    assert len(found) == 1, (typ, inputs, [r["name"] for r in found])
    resource: dict[str, Any] = found[0]
    return resource


def _version_of(plan: dict[str, Any], kind: str, arm_id: str) -> dict[str, Any]:
    """The registered asset version an ARM id names (`.../<kind>/<name>/versions/<v>`)."""
    parts = arm_id.split("/")
    name, version = parts[-3], parts[-1]
    return _one(plan, f"{ML}:{kind}", name=name, version=version)


def _uploaded(plan: dict[str, Any], uri: str, into: Path) -> Path:
    """Rebuild an uploaded folder from the plan's blobs: each names its source file."""
    prefix = uri.split("/paths/", 1)[1]
    folder = into / prefix.rsplit("/", 1)[-1]
    blobs = [
        r["inputs"]
        for r in plan["resources"]
        if r["type"] == "azure-native:storage:Blob"
        and r["inputs"]["blobName"].startswith(prefix + "/")
    ]
    assert blobs, f"no blob uploaded under {prefix}"
    for blob in blobs:
        target = folder / blob["blobName"].removeprefix(prefix + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / blob["source"]["asset"], target)
    return folder


@pytest.fixture(scope="module")
def plan(shipped_plan: ShippedPlan) -> dict[str, Any]:
    return shipped_plan("dev")


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def _routes(plan: dict[str, Any], deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    environment = _version_of(plan, "EnvironmentVersion", deployment["environmentId"])
    config: dict[str, dict[str, Any]] = environment["inputs"]["properties"]["inferenceConfig"]
    return config


def test_the_deployment_runs_the_environment_that_names_its_routes(
    plan: dict[str, Any], dockerfile: DockerfileParser
) -> None:
    deployment = _one(plan, f"{ML}:OnlineDeployment", deploymentName="blue")["inputs"]
    routes = _routes(plan, deployment["properties"])
    assert set(routes) == {"livenessRoute", "readinessRoute", "scoringRoute"}
    exposed = {
        int(i["value"].split("/")[0]) for i in dockerfile.structure if i["instruction"] == "EXPOSE"
    }
    assert {r["port"] for r in routes.values()} == exposed  # one port, the one the image opens
    # The CMD is exec form and passes nothing: the server's defaults are the contract.
    assert json.loads(next(i["value"] for i in dockerfile.structure if i["instruction"] == "CMD"))


@pytest.fixture(scope="module")
def container(
    plan: dict[str, Any], dockerfile: DockerfileParser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, dict[str, Any]], Path]]:
    deployment = _one(plan, f"{ML}:OnlineDeployment", deploymentName="blue")["inputs"]
    properties = deployment["properties"]
    work = tmp_path_factory.mktemp("artifacts")
    code = _version_of(plan, "CodeVersion", properties["codeConfiguration"]["codeId"])
    code_dir = _uploaded(plan, code["inputs"]["properties"]["codeUri"], work / "code")
    model = _version_of(plan, "ModelVersion", properties["model"])
    model_dir = _uploaded(plan, model["inputs"]["properties"]["modelUri"], work / "model")
    azure = AzureMlImageContext(
        endpoint_name=deployment["endpointName"],
        deployment_name=deployment["deploymentName"],
        yaml_code_directory_path=str(code_dir),
        yaml_code_scoring_script_file_name=properties["codeConfiguration"]["scoringScript"],
        model_directory_path=str(model_dir.parent),
        model_mount_path=f"/{model['inputs']['name']}/{model['inputs']['version']}",
    )
    root = tmp_path_factory.mktemp("container")

    def inside(path: str) -> str:
        return str(root / os.path.normpath(path).lstrip("/"))

    for mount in azure.volumes.values():
        for source, bind in mount.items():
            shutil.copytree(source, inside(bind["bind"]), dirs_exist_ok=True)
    workdir = [i["value"] for i in dockerfile.structure if i["instruction"] == "WORKDIR"][-1]
    Path(inside(workdir)).mkdir(parents=True, exist_ok=True)
    paths = {"AML_APP_ROOT", "AZUREML_MODEL_DIR"}
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
        **{k: inside(v) if k in paths else v for k, v in dockerfile.envs.items()},
        # What Azure sets for the deployment overrides the image's defaults.
        **{k: inside(v) if k in paths else v for k, v in azure.environment.items()},
        **properties.get("environmentVariables", {}),
    }
    command = json.loads(
        next(i["value"] for i in dockerfile.structure if i["instruction"] == "CMD")
    )
    executable = Path(sys.executable).parent / command[0]
    assert executable.is_file(), f"{command[0]} is not installed next to {sys.executable}"
    routes = _routes(plan, properties)
    port = routes["scoringRoute"]["port"]
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            pytest.fail(f"port {port} is in use here; the image's server listens on it")
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(executable), *command[1:]], cwd=inside(workdir), env=env, stdout=out, stderr=out
        )
    try:
        yield f"http://127.0.0.1:{port}", routes, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_routes_the_environment_registers_answer_as_azure_probes_them(
    container: tuple[str, dict[str, dict[str, Any]], Path],
) -> None:
    base, routes, log = container
    deadline = time.monotonic() + 60
    live = ready = None
    while time.monotonic() < deadline:
        try:
            live = httpx.get(base + routes["livenessRoute"]["path"], timeout=2)
            ready = httpx.get(base + routes["readinessRoute"]["path"], timeout=2)
            if ready.status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    assert live is not None and live.status_code == 200, log.read_text()
    assert ready is not None and ready.status_code == 200, log.read_text()
    scored = httpx.post(
        base + routes["scoringRoute"]["path"],
        content=SAMPLE_REQUEST.read_bytes(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert scored.status_code == 200, (scored.text, log.read_text())
    predictions = scored.json()
    assert isinstance(predictions, list) and predictions
    assert all(p in (0, 1) for p in predictions)
