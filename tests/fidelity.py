"""Two request bodies for one CLI v2 YAML file: amlkit's and azure-ai-ml's.

amlkit's: the file loaded through amlkit's specs, rendered by amlkit's
component under Pulumi's mock engine, turned into the ARM body azure-native
sends (`amlkit.azure_body`). azure-ai-ml's: the file loaded by Azure's own
loader (`load_*`) and converted with its REST conversion, serialized as its ARM
client serializes a PUT body (`SdkJSONEncoder`, read-only fields left out).
Both are then put in canonical form by the walker over Azure's models (enum
spelling, one ISO-8601 spelling a duration), so they can be compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from amlkit.components.asset_catalog import AssetCatalog, AssetCatalogArgs
from amlkit.components.batch_deployment import BatchDeployment, BatchDeploymentArgs
from amlkit.components.batch_endpoint import BatchEndpoint, BatchEndpointArgs
from amlkit.components.compute_cluster import ComputeCluster, ComputeClusterArgs
from amlkit.components.online_deployment import OnlineDeployment, OnlineDeploymentArgs
from amlkit.components.online_endpoint import OnlineEndpoint, OnlineEndpointArgs
from amlkit.components.workspace_ref import RoleScopes, WorkspaceRef
from amlkit.plan import azure_body, azure_models
from amlkit.plan.azure_check import Problem, check_body
from amlkit.plan.mock_engine import Recording, run_program
from amlkit.specs import (
    BatchDeploymentSpec,
    BatchEndpointSpec,
    ComputeClusterSpec,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    StackEnvironment,
    load_cli_yaml,
)
from amlkit.specs.asset_uses import AssetUse, asset_use, use_key

ML = "azure-native:machinelearningservices"
LOCATION = "westeurope"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-amlkit-test/providers"
WORKSPACE_ID = f"{SUB}/Microsoft.MachineLearningServices/workspaces/mlw-amlkit-test"
DEFAULT_ENV = f"{WORKSPACE_ID}/environments/amlkit-scoring/versions/1"
ENDPOINT_NAME = "my-endpoint"
"""For deployment files that name no endpoint (`az ml ... --endpoint-name` supplies it)."""

WORKSPACE = WorkspaceRef(
    resource_group_name="rg-amlkit-test",
    workspace_name="mlw-amlkit-test",
    workspace_id=WORKSPACE_ID,
    location=LOCATION,
    asset_storage_account_name="stamlkittest",
    asset_container_name="amlkit-assets",
    asset_datastore_name="amlkit_assets",
)
SCOPES = RoleScopes(
    container_registry=f"{SUB}/Microsoft.ContainerRegistry/registries/cramlkittest",
    storage=f"{SUB}/Microsoft.Storage/storageAccounts/stamlkittest",
    key_vault=f"{SUB}/Microsoft.KeyVault/vaults/kv-amlkit-test",
    workspace=WORKSPACE_ID,
    application_insights=f"{SUB}/Microsoft.Insights/components/appi-amlkit-test",
)
ENVIRONMENT = StackEnvironment(name="test", location=LOCATION)

# CLI v2 schema -> (azure-ai-ml loader, azure-native type amlkit renders)
KINDS = {
    "managedOnlineEndpoint": ("load_online_endpoint", "OnlineEndpoint"),
    "kubernetesOnlineEndpoint": ("load_online_endpoint", "OnlineEndpoint"),
    "managedOnlineDeployment": ("load_online_deployment", "OnlineDeployment"),
    "kubernetesOnlineDeployment": ("load_online_deployment", "OnlineDeployment"),
    "batchEndpoint": ("load_batch_endpoint", "BatchEndpoint"),
    "modelBatchDeployment": ("load_model_batch_deployment", "BatchDeployment"),
    "amlCompute": ("load_compute", "Compute"),
}


def schema_kind(file: Path) -> str:
    import yaml

    schema = str(yaml.safe_load(file.read_text())["$schema"])
    return schema.strip().rsplit("/", 1)[-1].removesuffix(".schema.json")


def amlkit_body(file: Path) -> dict[str, Any]:
    """The body azure-native would PUT for the file, rendered by amlkit's component."""
    spec = load_cli_yaml(file)
    typ = f"{ML}:{KINDS[schema_kind(file)][1]}"

    def program() -> None:
        assets = AssetCatalog(
            "assets",
            AssetCatalogArgs(
                workspace=WORKSPACE,
                uses=_uses(spec),
                default_environment_id=DEFAULT_ENV,
                batch_environment_id=DEFAULT_ENV,
            ),
        )
        _component(spec, assets)

    recording: Recording = run_program(program, project="amlkit", stack="test")
    (resource,) = recording.of_type(typ)
    model = azure_models.model_for(typ)
    assert model is not None
    return azure_body.request_body(typ, resource.inputs, model)


def _uses(spec: object) -> dict[str, AssetUse]:
    """The assets the file's resource names; a lone deployment sits under ENDPOINT_NAME."""
    if isinstance(spec, OnlineEndpointSpec | BatchEndpointSpec):
        return spec.asset_uses()
    if isinstance(spec, OnlineDeploymentSpec):
        return dict([asset_use("online", spec.endpoint_name or ENDPOINT_NAME, spec)])
    if isinstance(spec, BatchDeploymentSpec):
        return dict([asset_use("batch", spec.endpoint_name or ENDPOINT_NAME, spec)])
    return {}


def _component(spec: object, assets: AssetCatalog) -> None:
    if isinstance(spec, OnlineEndpointSpec):
        OnlineEndpoint(
            "online",
            OnlineEndpointArgs(
                spec=spec,
                environment=ENVIRONMENT,
                workspace=WORKSPACE,
                role_scopes=SCOPES,
                identities={},
                assets=assets.ids,
            ),
        )
    elif isinstance(spec, OnlineDeploymentSpec):
        OnlineDeployment(
            "deployment",
            OnlineDeploymentArgs(
                spec=spec,
                endpoint_name=spec.endpoint_name or ENDPOINT_NAME,
                endpoint_kind=spec.type or "managed",
                environment=ENVIRONMENT,
                workspace=WORKSPACE,
                assets=assets.ids[use_key(spec.endpoint_name or ENDPOINT_NAME, spec.name)],
            ),
        )
    elif isinstance(spec, BatchEndpointSpec):
        BatchEndpoint(
            "batch",
            BatchEndpointArgs(
                spec=spec,
                environment=ENVIRONMENT,
                workspace=WORKSPACE,
                compute_ids={},
                assets=assets.ids,
            ),
        )
    elif isinstance(spec, BatchDeploymentSpec):
        compute = pulumi.Output.concat(WORKSPACE_ID, "/computes/", spec.compute_name)
        BatchDeployment(
            "batch-deployment",
            BatchDeploymentArgs(
                spec=spec,
                endpoint_name=spec.endpoint_name or ENDPOINT_NAME,
                environment=ENVIRONMENT,
                workspace=WORKSPACE,
                compute_ids={spec.compute_name: compute},
                assets=assets.ids[use_key(spec.endpoint_name or ENDPOINT_NAME, spec.name)],
            ),
        )
    elif isinstance(spec, ComputeClusterSpec):
        ComputeCluster(
            "compute",
            ComputeClusterArgs(
                spec=spec, environment=ENVIRONMENT, workspace=WORKSPACE, identities={}
            ),
        )
    else:
        raise TypeError(f"no component for {type(spec).__name__}")


def azure_ai_ml_body(file: Path) -> dict[str, Any]:
    """The body azure-ai-ml would PUT for the file (its loader and REST conversion)."""
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import SdkJSONEncoder
    from azure.ai.ml.entities import _load_functions

    loader = getattr(_load_functions, KINDS[schema_kind(file)][0])
    overrides = [{"endpoint_name": ENDPOINT_NAME}] if "Deployment" in schema_kind(file) else None
    entity = loader(file, params_override=overrides)
    if schema_kind(file).endswith("OnlineEndpoint"):
        rest = entity._to_rest_online_endpoint(location=LOCATION)
    elif schema_kind(file) == "batchEndpoint":
        rest = entity._to_rest_batch_endpoint(location=LOCATION)
    elif schema_kind(file) == "amlCompute":
        rest = entity._to_rest_object()
    else:
        rest = entity._to_rest_object(location=LOCATION)

    class Encoder(SdkJSONEncoder):
        """Local assets azure-ai-ml uploads and replaces by ids in its operations,
        before the PUT; the REST conversion alone leaves the entity in place."""

        def default(self, o: Any) -> Any:
            try:
                return super().default(o)  # type: ignore[no-untyped-call]
            except TypeError:
                return f"<local {type(o).__name__} {getattr(o, 'name', '')}>"

    # As its operations serialize a PUT: json.dumps(body, cls=SdkJSONEncoder, exclude_readonly=True)
    body: dict[str, Any] = json.loads(json.dumps(rest, cls=Encoder, exclude_readonly=True))
    return body


def canonical(file: Path, body: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    model = azure_models.model_for(f"{ML}:{KINDS[schema_kind(file)][1]}")
    assert model is not None
    return check_body(body, model)


def differences(ours: Any, theirs: Any, path: str = "") -> dict[str, tuple[Any, Any]]:
    """Every leaf where the two bodies differ: path -> (amlkit, azure-ai-ml)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: dict[str, tuple[Any, Any]] = {}
        for key in sorted(set(ours) | set(theirs)):
            where = f"{path}.{key}" if path else key
            found |= differences(ours.get(key), theirs.get(key), where)
        return found
    return {} if ours == theirs else {path: (ours, theirs)}
