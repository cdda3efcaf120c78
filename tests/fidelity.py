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
    PipelineBatchDeploymentSpec,
    StackEnvironment,
    load_cli_yaml,
)
from amlkit.specs.asset_uses import AssetUse, asset_use, pipeline_use, use_key
from tests.cli_v2 import ENDPOINT_NAME, azure_ai_ml_load, schema_kind

ML = "azure-native:machinelearningservices"
LOCATION = "westeurope"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "rg-amlkit-test"
SUB = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers"
WORKSPACE_ID = f"{SUB}/Microsoft.MachineLearningServices/workspaces/mlw-amlkit-test"
DEFAULT_ENV = f"{WORKSPACE_ID}/environments/amlkit-scoring/versions/1"

WORKSPACE = WorkspaceRef(
    resource_group_name=RESOURCE_GROUP,
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

NATIVE_TYPES = {
    "managedOnlineEndpoint": "OnlineEndpoint",
    "kubernetesOnlineEndpoint": "OnlineEndpoint",
    "managedOnlineDeployment": "OnlineDeployment",
    "kubernetesOnlineDeployment": "OnlineDeployment",
    "batchEndpoint": "BatchEndpoint",
    "modelBatchDeployment": "BatchDeployment",
    "amlCompute": "Compute",
}
"""The azure-native type amlkit renders for each CLI v2 kind (tests/cli_v2.py SPECS)."""
RENDERED_TYPES = {**NATIVE_TYPES, "pipelineComponentBatchDeployment": "BatchDeployment"}
"""NATIVE_TYPES and the pipeline kind, which tests/components/test_pipeline_deployment.py
compares (its settings are sent as strings) and tests/plan/test_field_coverage_pipeline.py walks."""


def amlkit_render(file: Path) -> Recording:
    """The file loaded by amlkit and rendered by its component under the mock engine."""
    spec = load_cli_yaml(file)

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

    return run_program(program, project="amlkit", stack="test")


def amlkit_body(file: Path, recording: Recording | None = None) -> dict[str, Any]:
    """The body azure-native would PUT for the file, rendered by amlkit's component."""
    typ = f"{ML}:{RENDERED_TYPES[schema_kind(file)]}"
    (resource,) = (recording or amlkit_render(file)).of_type(typ)
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
    if isinstance(spec, PipelineBatchDeploymentSpec):
        return dict([pipeline_use(spec.endpoint_name or ENDPOINT_NAME, spec)])
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
    elif isinstance(spec, PipelineBatchDeploymentSpec):
        cluster = spec.settings.compute_name
        BatchDeployment(
            "batch-deployment",
            BatchDeploymentArgs(
                spec=spec,
                endpoint_name=spec.endpoint_name or ENDPOINT_NAME,
                environment=ENVIRONMENT,
                workspace=WORKSPACE,
                compute_ids={cluster: f"{WORKSPACE_ID}/computes/{cluster}"} if cluster else {},
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


class _Registered:
    """Stands in for azure-ai-ml's data operations, which would PUT each data asset:
    keeps what it was given and hands it back, as `create_or_update` returns it."""

    def __init__(self) -> None:
        self.data: list[Any] = []

    def create_or_update(self, data: Any) -> Any:
        self.data.append(data)
        return data


def azure_ai_ml_registers(entity: Any) -> list[Any]:
    """What `az ml online-deployment create` does before its PUT for a deployment with a
    data collector: azure-ai-ml's own `_register_collection_data_assets`, run on the
    entity, registers one `Data` a collection and puts its id in the collection. Returns
    the `Data` entities it would register (each PUT through its data operations)."""
    from azure.ai.ml.constants._common import AzureMLResourceType
    from azure.ai.ml.operations._online_deployment_operations import (
        OnlineDeploymentOperations,
    )

    if getattr(entity, "data_collector", None) is None:
        return []
    registered = _Registered()
    operations = type(
        "Operations",
        (),
        {
            "_subscription_id": SUBSCRIPTION,
            "_resource_group_name": RESOURCE_GROUP,
            "_workspace_name": WORKSPACE.workspace_name,
            "_all_operations": type(
                "All", (), {"_all_operations": {AzureMLResourceType.DATA: registered}}
            )(),
        },
    )()
    OnlineDeploymentOperations._register_collection_data_assets(operations, entity)
    return registered.data


def azure_ai_ml_data_bodies(file: Path) -> dict[str, dict[str, Any]]:
    """The data-asset PUT bodies az ml sends before a deployment's, by `name:version`."""
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import SdkJSONEncoder

    return {
        f"{data.name}:{data.version}": json.loads(
            json.dumps(data._to_rest_object(), cls=SdkJSONEncoder, exclude_readonly=True)
        )
        for data in azure_ai_ml_registers(azure_ai_ml_load(file))
    }


def amlkit_data_bodies(recording: Recording) -> dict[str, dict[str, Any]]:
    """The data-asset bodies amlkit renders, by `name:version`."""
    typ = f"{ML}:DataVersion"
    model = azure_models.model_for(typ)
    assert model is not None
    return {
        f"{r.inputs['name']}:{r.inputs['version']}": azure_body.request_body(typ, r.inputs, model)
        for r in recording.of_type(typ)
    }


def azure_ai_ml_body(file: Path, entity: Any = None) -> dict[str, Any]:
    """The body azure-ai-ml would PUT for the file: its loader, what its operations do
    before the PUT (data-collector assets, `azure_ai_ml_registers`), its REST conversion.
    `entity`: the file already loaded by `azure_ai_ml_load` (it is changed as azure-ai-ml's
    operations change it, so convert each loaded entity once)."""
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import SdkJSONEncoder

    entity = azure_ai_ml_load(file) if entity is None else entity
    azure_ai_ml_registers(entity)
    if schema_kind(file).endswith("OnlineEndpoint"):
        rest = entity._to_rest_online_endpoint(location=LOCATION)
    elif schema_kind(file) == "batchEndpoint":
        rest = entity._to_rest_batch_endpoint(location=LOCATION)
    elif schema_kind(file) == "amlCompute":
        # As its compute operations do before the conversion (ComputeOperations
        # .begin_create_or_update): a cluster without `location` gets the workspace's,
        # and `vnet_name` + `subnet` become the subnet's ARM id in the workspace's
        # subscription and resource group.
        if not entity.location:
            entity.location = LOCATION
        entity._set_full_subnet_name(SUBSCRIPTION, RESOURCE_GROUP)
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
    model = azure_models.model_for(f"{ML}:{RENDERED_TYPES[schema_kind(file)]}")
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
