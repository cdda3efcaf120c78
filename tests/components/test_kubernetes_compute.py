"""The attach: namespace first, the workspace identity's roles on the cluster, the
extension installed, then the Kubernetes compute; the compute's own identity can pull
images and read models; an endpoint on it waits for it."""

from __future__ import annotations

from typing import Any

import pulumi

from amlkit.components.asset_catalog import AssetIds
from amlkit.components.kubernetes_compute import KubernetesCompute, KubernetesComputeArgs
from amlkit.components.online_endpoint import OnlineEndpoint, OnlineEndpointArgs
from amlkit.components.workspace_ref import RoleScopes, WorkspaceRef
from amlkit.plan.mock_engine import Recording
from amlkit.specs import KubernetesComputeSpec, OnlineEndpointSpec, StackEnvironment
from amlkit.specs.asset_uses import use_key
from amlkit.specs.identity import ROLE_DEFINITION_IDS
from tests.components.conftest import WORKSPACE_ID

COMPUTE = "azure-native:machinelearningservices:Compute"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
NAMESPACE = "kubernetes:core/v1:Namespace"
PROVIDER = "pulumi:providers:kubernetes"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CLUSTER_ID = (
    "/subscriptions/0/resourceGroups/rg-amlkit-test/providers/"
    "Microsoft.ContainerService/managedClusters/aks-amlkit-test"
)
WORKSPACE_PRINCIPAL = "11111111-2222-3333-4444-555555555555"
EXTENSION_PRINCIPAL = "66666666-7777-8888-9999-000000000000"


def _render(
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
    **fields: Any,
) -> Recording:
    spec = KubernetesComputeSpec.model_validate(fields)

    def program() -> None:
        KubernetesCompute(
            "compute-k8s-compute",
            KubernetesComputeArgs(
                spec=spec,
                environment=environment,
                workspace=workspace_ref,
                workspace_principal_id=WORKSPACE_PRINCIPAL,
                role_scopes=role_scopes,
                cluster_id=CLUSTER_ID,
                kubeconfig="apiVersion: v1\nkind: Config\n",
                extension_release_train="stable",
                extension_principal_id=EXTENSION_PRINCIPAL,
                identities={},
            ),
        )

    recording: Recording = render(program)
    return recording


def _role(assignment: Any) -> str:
    role_id = str(assignment.inputs["roleDefinitionId"]).rsplit("/", 1)[-1]
    return next(name for name, rid in ROLE_DEFINITION_IDS.items() if rid == role_id)


def test_namespace_and_roles_come_before_the_attach(
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
) -> None:
    recording = _render(
        render,
        environment,
        workspace_ref,
        role_scopes,
        name="k8s-compute",
        namespace="ml-online",
        default_instance_type="cpu-small",
    )
    namespace = recording.one(NAMESPACE)
    assert namespace.inputs["metadata"]["name"] == "ml-online"
    assert namespace.inputs["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "amlkit"}
    provider = recording.one(PROVIDER)
    assert provider.inputs["kubeconfig"] == "[secret]"  # the cluster's credentials stay secret
    compute = recording.one(COMPUTE)
    workspace_grants = [
        a for a in recording.of_type(ASSIGNMENT) if a.inputs["principalId"] == WORKSPACE_PRINCIPAL
    ]
    assert sorted(_role(a) for a in workspace_grants) == [
        "Azure Kubernetes Service Cluster Admin Role",
        "Kubernetes Extension Contributor",
        "Reader",
    ]
    assert {a.inputs["scope"] for a in workspace_grants} == {CLUSTER_ID}
    # Azure does not create the namespace, and the attach needs the workspace's roles
    assert namespace.urn in compute.depends_on
    assert all(a.urn in compute.depends_on for a in workspace_grants)
    assert compute.inputs["computeName"] == "k8s-compute"
    assert compute.inputs["identity"] == {"type": "SystemAssigned"}
    assert compute.inputs["properties"] == {
        "computeType": "Kubernetes",
        "resourceId": CLUSTER_ID,
        "properties": {
            "namespace": "ml-online",
            "defaultInstanceType": "cpu-small",
            "extensionInstanceReleaseTrain": "stable",
            "extensionPrincipalId": EXTENSION_PRINCIPAL,
        },
    }


def test_the_compute_identity_pulls_images_and_reads_models(
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
) -> None:
    recording = _render(render, environment, workspace_ref, role_scopes)
    compute = recording.one(COMPUTE)
    principal = compute.outputs["identity"]["principalId"]
    grants = {
        _role(a): a.inputs["scope"]
        for a in recording.of_type(ASSIGNMENT)
        if a.inputs["principalId"] == principal
    }
    assert grants == {
        "AcrPull": role_scopes.container_registry,
        "Storage Blob Data Reader": role_scopes.storage,
    }


def test_the_default_namespace_is_used_not_created(
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
) -> None:
    recording = _render(render, environment, workspace_ref, role_scopes, namespace="default")
    assert recording.of_type(NAMESPACE) == [] and recording.of_type(PROVIDER) == []
    compute = recording.one(COMPUTE)
    assert compute.inputs["properties"]["properties"]["namespace"] == "default"


def test_a_kubernetes_endpoint_waits_for_the_attached_compute(
    render: Any,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
) -> None:
    endpoint_spec = OnlineEndpointSpec.model_validate(
        {
            "name": "k8s-score",
            "compute": "azureml:k8s-compute",
            "auth_mode": "aml_token",
            "deployments": [
                {
                    "name": "blue",
                    "model": "azureml:classifier:1",
                    "environment": "azureml:sklearn:1",
                    "code_configuration": {"code": "azureml:score:1", "scoring_script": "score.py"},
                    "instance_type": "cpu-small",
                    "resources": {
                        "requests": {"cpu": "500m", "memory": "1Gi"},
                        "limits": {"cpu": "1", "memory": "2Gi"},
                    },
                    "scale_settings": {
                        "type": "target_utilization",
                        "min_instances": 2,
                        "max_instances": 4,
                        "polling_interval": 10,
                    },
                }
            ],
        }
    )

    def program() -> None:
        compute = KubernetesCompute(
            "compute-k8s-compute",
            KubernetesComputeArgs(
                spec=KubernetesComputeSpec(),
                environment=environment,
                workspace=workspace_ref,
                workspace_principal_id=WORKSPACE_PRINCIPAL,
                role_scopes=role_scopes,
                cluster_id=CLUSTER_ID,
                kubeconfig="apiVersion: v1\nkind: Config\n",
                extension_release_train="stable",
                extension_principal_id=EXTENSION_PRINCIPAL,
                identities={},
            ),
        )
        ids = AssetIds(
            model_id=pulumi.Output.from_input(f"{WORKSPACE_ID}/models/classifier/versions/1"),
            code_id=pulumi.Output.from_input(f"{WORKSPACE_ID}/codes/score/versions/1"),
            environment_id=pulumi.Output.from_input(
                f"{WORKSPACE_ID}/environments/sklearn/versions/1"
            ),
        )
        OnlineEndpoint(
            "online-k8s-score",
            OnlineEndpointArgs(
                spec=endpoint_spec,
                environment=environment,
                workspace=workspace_ref,
                role_scopes=role_scopes,
                identities={},
                assets={use_key("k8s-score", "blue"): ids},
                kubernetes_computes={"k8s-compute": compute.compute_id},
            ),
        )

    recording: Recording = render(program)
    compute = recording.one(COMPUTE)
    endpoint = recording.one(ENDPOINT)
    assert endpoint.inputs["kind"] == "Kubernetes"
    assert endpoint.inputs["properties"]["compute"] == compute.id
    assert compute.urn in endpoint.depends_on
    deployment = recording.one(DEPLOYMENT).inputs
    assert deployment["kind"] == "Kubernetes"
    props = deployment["properties"]
    assert props["endpointComputeType"] == "Kubernetes"
    assert props["instanceType"] == "cpu-small"
    assert props["containerResourceRequirements"] == {
        "containerResourceRequests": {"cpu": "500m", "memory": "1Gi"},
        "containerResourceLimits": {"cpu": "1", "memory": "2Gi"},
    }
    assert props["scaleSettings"] == {
        "scaleType": "TargetUtilization",
        "minInstances": 2,
        "maxInstances": 4,
        "pollingInterval": "PT10S",
        "targetUtilizationPercentage": 70,
    }
