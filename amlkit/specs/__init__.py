"""Specs: frozen pydantic models of what a stack holds, and their loaders. No Pulumi here."""

from .autoscale import AutoscaleSpec, CpuRule, LatencyRule
from .azureml_extension import AzureMLExtensionSpec
from .batch_deployment import BatchDeploymentSpec, BatchSettings, RetrySettings
from .batch_endpoint import BatchEndpointSpec
from .cli_yaml import load_cli_yaml
from .compute import ComputeClusterSpec
from .errors import ConfigError, Problem
from .identity import ROLE_DEFINITION_IDS, IdentitySpec, ResourceIdentity, RoleGrant
from .instance_type import InstanceTypeSpec
from .kubernetes import KubernetesComputeSpec, KubernetesSpec
from .kubernetes_cluster import ExistingClusterSpec, ManagedClusterSpec, NodePoolSpec
from .monitoring import MonitoringSpec
from .online_deployment import OnlineDeploymentSpec, ProbeSettings, RequestSettings
from .online_endpoint import OnlineEndpointSpec
from .pipeline_batch_deployment import PipelineBatchDeploymentSpec, PipelineSettings
from .pipeline_component import CommandComponentSpec, PipelineComponentSpec
from .policy import PolicySpec
from .rollout import Gate, RolloutSpec
from .scoring_image import SCORING_IMAGE, ScoringImageSpec
from .stack import StackEnvironment, StackSpec
from .stack_config import build_stack_spec, load_stack_spec
from .workspace import WorkspaceSpec

__all__ = [
    "ROLE_DEFINITION_IDS",
    "SCORING_IMAGE",
    "AutoscaleSpec",
    "AzureMLExtensionSpec",
    "BatchDeploymentSpec",
    "BatchEndpointSpec",
    "BatchSettings",
    "CommandComponentSpec",
    "ComputeClusterSpec",
    "ConfigError",
    "CpuRule",
    "ExistingClusterSpec",
    "Gate",
    "IdentitySpec",
    "InstanceTypeSpec",
    "KubernetesComputeSpec",
    "KubernetesSpec",
    "LatencyRule",
    "ManagedClusterSpec",
    "MonitoringSpec",
    "NodePoolSpec",
    "OnlineDeploymentSpec",
    "OnlineEndpointSpec",
    "PipelineBatchDeploymentSpec",
    "PipelineComponentSpec",
    "PipelineSettings",
    "PolicySpec",
    "ProbeSettings",
    "Problem",
    "RequestSettings",
    "ResourceIdentity",
    "RetrySettings",
    "RoleGrant",
    "RolloutSpec",
    "ScoringImageSpec",
    "StackEnvironment",
    "StackSpec",
    "WorkspaceSpec",
    "build_stack_spec",
    "load_cli_yaml",
    "load_stack_spec",
]
