"""amlkit's Pulumi components, one Azure concept a module."""

from .asset_catalog import AssetCatalog, AssetCatalogArgs, AssetIds
from .autoscale import Autoscale, AutoscaleArgs
from .azureml_extension import AzureMLExtension, AzureMLExtensionArgs
from .batch_deployment import BatchDeployment, BatchDeploymentArgs
from .batch_endpoint import BatchEndpoint, BatchEndpointArgs
from .compute_cluster import ComputeCluster, ComputeClusterArgs
from .instance_types import InstanceTypes, InstanceTypesArgs
from .kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs
from .kubernetes_compute import KubernetesCompute, KubernetesComputeArgs
from .kubernetes_platform import KubernetesPlatform, KubernetesPlatformArgs
from .managed_identity import ManagedIdentity, ManagedIdentityArgs
from .monitoring import Monitoring, MonitoringArgs
from .online_deployment import OnlineDeployment, OnlineDeploymentArgs
from .online_endpoint import OnlineEndpoint, OnlineEndpointArgs
from .resource_group import ResourceGroup, ResourceGroupArgs
from .role_assignments import RoleAssignments, RoleAssignmentsArgs
from .scoring_image import ScoringImage, ScoringImageArgs
from .workspace import Workspace, WorkspaceArgs

__all__ = [
    "AssetCatalog",
    "AssetCatalogArgs",
    "AssetIds",
    "Autoscale",
    "AutoscaleArgs",
    "AzureMLExtension",
    "AzureMLExtensionArgs",
    "BatchDeployment",
    "BatchDeploymentArgs",
    "BatchEndpoint",
    "BatchEndpointArgs",
    "ComputeCluster",
    "ComputeClusterArgs",
    "InstanceTypes",
    "InstanceTypesArgs",
    "KubernetesCluster",
    "KubernetesClusterArgs",
    "KubernetesCompute",
    "KubernetesComputeArgs",
    "KubernetesPlatform",
    "KubernetesPlatformArgs",
    "ManagedIdentity",
    "ManagedIdentityArgs",
    "Monitoring",
    "MonitoringArgs",
    "OnlineDeployment",
    "OnlineDeploymentArgs",
    "OnlineEndpoint",
    "OnlineEndpointArgs",
    "ResourceGroup",
    "ResourceGroupArgs",
    "RoleAssignments",
    "RoleAssignmentsArgs",
    "ScoringImage",
    "ScoringImageArgs",
    "Workspace",
    "WorkspaceArgs",
]
