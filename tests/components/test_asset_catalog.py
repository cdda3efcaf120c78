"""The asset catalog: references to full ARM ids, local folders uploaded and registered once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from amlkit.components.asset_catalog import AssetCatalog, AssetCatalogArgs
from amlkit.components.workspace_ref import WorkspaceRef
from amlkit.plan.mock_engine import Recording
from amlkit.specs.asset_uses import AssetUse, content_hash, folder_files
from amlkit.specs.assets import CodeConfiguration, EnvironmentAsset, ModelAsset
from tests.components.conftest import WORKSPACE_ID

ML = "azure-native:machinelearningservices"
BLOB = "azure-native:storage:Blob"
DEFAULT_ENV = f"{WORKSPACE_ID}/environments/amlkit-scoring/versions/sha256-abc"
BATCH_ENV = f"{WORKSPACE_ID}/environments/amlkit-batch/versions/sha256-def"
REGISTRY_MODEL = "azureml://registries/azureml/models/distilbert-base-uncased/versions/11"


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.joblib").write_bytes(b"\x80weights")
    (folder / "sub" / "labels.txt").write_text("cat\ndog\n")
    (folder / ".gitignore").write_text("*.tmp\n")  # hidden: never uploaded
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"cache")
    return folder


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "score.py").write_text("def init():\n    pass\n\n\ndef run(raw):\n    return raw\n")
    return folder


# What one deployment asks the catalog for, and which of its ids the test reads.
Ask = tuple[AssetUse, str]
SCORING = EnvironmentAsset(image="scoring-image")
REFERENCED_CODE = CodeConfiguration(code="azureml:scoring-code:4", scoring_script="score.py")


def ask_model(value: ModelAsset | str, owner: str = "blue") -> Ask:
    return AssetUse(owner, "online", owner, model=value, code=None, environment=SCORING), "model_id"


def ask_code(value: CodeConfiguration, owner: str = "blue") -> Ask:
    return AssetUse(owner, "online", owner, model=None, code=value, environment=SCORING), "code_id"


def ask_environment(
    value: EnvironmentAsset | str | None, owner: str = "blue", kind: str = "online"
) -> Ask:
    # With code, so that no environment is not Azure's no-code deployment.
    use = AssetUse(owner, kind, owner, model=None, code=REFERENCED_CODE, environment=value)  # type: ignore[arg-type]
    return use, "environment_id"


def _catalog(render: Any, workspace_ref: WorkspaceRef, asks: dict[str, Ask]) -> Recording:
    def program() -> None:
        catalog = AssetCatalog(
            "assets",
            AssetCatalogArgs(
                workspace=workspace_ref,
                uses={key: use for key, (use, _) in asks.items()},
                default_environment_id=DEFAULT_ENV,
                batch_environment_id=BATCH_ENV,
            ),
        )
        for key, (_, field) in asks.items():
            pulumi.export(key, getattr(catalog.ids[key], field))

    recording: Recording = render(program)
    return recording


def test_references_become_full_arm_ids(render: Any, workspace_ref: WorkspaceRef) -> None:
    code = CodeConfiguration(code="azureml:scoring-code:4", scoring_script="score.py")
    rec = _catalog(
        render,
        workspace_ref,
        {
            "pinned": ask_model("azureml:classifier:3", "blue"),
            "latest": ask_model("azureml:classifier@latest", "blue"),
            "registry": ask_model(REGISTRY_MODEL, "blue"),
            "code": ask_code(code, "blue"),
            "env": ask_environment("azureml:sklearn-env:12", "blue"),
            "default_env": ask_environment(None, "blue"),
            "batch_default_env": ask_environment(None, "nightly", kind="batch"),
            "scoring_image": ask_environment(EnvironmentAsset(image="scoring-image"), "blue"),
        },
    )
    assert rec.outputs == {
        "pinned": f"{WORKSPACE_ID}/models/classifier/versions/3",
        # @latest: the container's latestVersion, read at deploy time (mock answers "1").
        "latest": f"{WORKSPACE_ID}/models/classifier/versions/1",
        "registry": REGISTRY_MODEL,  # registry references pass as they are
        "code": f"{WORKSPACE_ID}/codes/scoring-code/versions/4",
        "env": f"{WORKSPACE_ID}/environments/sklearn-env/versions/12",
        "default_env": DEFAULT_ENV,
        # A batch deployment runs Azure's batch driver: the batch image is its default.
        "batch_default_env": BATCH_ENV,
        "scoring_image": DEFAULT_ENV,
    }
    # Nothing to upload or register for references.
    assert rec.of_type(BLOB) == []
    assert rec.of_type(f"{ML}:ModelVersion") == []


def test_local_model_is_uploaded_file_by_file_and_registered_by_hash(
    render: Any, workspace_ref: WorkspaceRef, model_dir: Path
) -> None:
    model = ModelAsset(path=str(model_dir), name="classifier")
    rec = _catalog(render, workspace_ref, {"id": ask_model(model, "blue")})
    digest = content_hash(model_dir)
    prefix = f"LocalUpload/{digest[:32]}/model"
    blobs = {b.inputs["blobName"]: b.inputs for b in rec.of_type(BLOB)}
    assert set(blobs) == {f"{prefix}/model.joblib", f"{prefix}/sub/labels.txt"}
    for blob in blobs.values():
        assert blob["accountName"] == workspace_ref.asset_storage_account_name
        assert blob["containerName"] == workspace_ref.asset_container_name
        assert blob["type"] == "Block"
    assert blobs[f"{prefix}/sub/labels.txt"]["source"]["path"] == str(
        model_dir / "sub" / "labels.txt"
    )
    version = rec.one(f"{ML}:ModelVersion")
    assert version.inputs["name"] == "classifier"
    assert version.inputs["version"] == digest[:12]
    props = version.inputs["properties"]
    assert props["modelType"] == "custom_model"
    assert props["modelUri"].endswith(
        f"/workspaces/{workspace_ref.workspace_name}"
        f"/datastores/{workspace_ref.asset_datastore_name}/paths/{prefix}"
    )
    assert props["modelUri"].startswith("azureml://subscriptions/")
    assert props["properties"] == {"amlkit-content-sha256": digest}
    assert rec.outputs["id"] == f"{WORKSPACE_ID}/models/classifier/versions/{digest[:12]}"


def test_same_asset_twice_is_registered_once(
    render: Any, workspace_ref: WorkspaceRef, model_dir: Path, code_dir: Path
) -> None:
    model = ModelAsset(path=str(model_dir), name="classifier", version="7")
    code = CodeConfiguration(code=str(code_dir), scoring_script="score.py")
    rec = _catalog(
        render,
        workspace_ref,
        {
            "blue_model": ask_model(model, "blue"),
            "green_model": ask_model(model, "green"),
            "blue_code": ask_code(code, "ep"),
            "green_code": ask_code(code, "ep"),
        },
    )
    assert len(rec.of_type(f"{ML}:ModelVersion")) == 1
    assert len(rec.of_type(f"{ML}:CodeVersion")) == 1
    assert len(rec.of_type(BLOB)) == 3  # two model files, one script
    assert rec.outputs["blue_model"] == rec.outputs["green_model"]
    assert rec.outputs["blue_model"].endswith("/models/classifier/versions/7")
    assert rec.outputs["blue_code"] == rec.outputs["green_code"]
    code_version = rec.one(f"{ML}:CodeVersion").inputs
    assert code_version["name"] == "ep-code"
    assert code_version["version"] == content_hash(code_dir)[:12]


def test_a_changed_file_registers_a_new_version(model_dir: Path) -> None:
    before = content_hash(model_dir)
    (model_dir / "sub" / "labels.txt").write_text("cat\ndog\nbird\n")
    assert content_hash(model_dir) != before
    (model_dir / ".gitignore").write_text("changed, but hidden\n")
    after = content_hash(model_dir)
    (model_dir / ".gitignore").write_text("*.tmp\n")
    assert content_hash(model_dir) == after  # hidden files are not part of the asset
    assert [p.name for p in folder_files(model_dir)] == ["model.joblib", "labels.txt"]


def test_inline_environment_with_conda_file(
    render: Any, workspace_ref: WorkspaceRef, tmp_path: Path
) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text("name: scoring\ndependencies:\n  - python=3.11\n")
    env = EnvironmentAsset(
        name="sklearn-env",
        image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1",
        conda_file=str(conda),
    )
    rec = _catalog(render, workspace_ref, {"id": ask_environment(env, "blue")})
    version = rec.one(f"{ML}:EnvironmentVersion").inputs
    assert version["name"] == "sklearn-env"
    assert version["properties"]["image"] == env.image
    assert version["properties"]["condaFile"] == conda.read_text()
    assert version["properties"]["osType"] == "Linux"
    assert rec.outputs["id"] == (
        f"{WORKSPACE_ID}/environments/sklearn-env/versions/{version['version']}"
    )


def test_a_single_file_model_is_one_blob_and_its_uri_names_the_file(
    render: Any, workspace_ref: WorkspaceRef, tmp_path: Path
) -> None:
    file = tmp_path / "model.pkl"
    file.write_bytes(b"pickle")
    model = ModelAsset(path=str(file), name="clf", version="7")
    rec = _catalog(render, workspace_ref, {"model": ask_model(model, "blue")})
    (blob,) = rec.of_type(BLOB)
    prefix = f"LocalUpload/{content_hash(file)[:32]}/model.pkl"
    assert blob.inputs["blobName"] == prefix
    assert blob.inputs["source"]["path"] == str(file)
    props = rec.one(f"{ML}:ModelVersion").inputs["properties"]
    assert props["modelUri"].endswith(f"/datastores/amlkit_assets/paths/{prefix}")
    assert rec.outputs["model"] == f"{WORKSPACE_ID}/models/clf/versions/7"
