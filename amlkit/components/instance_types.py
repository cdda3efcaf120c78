"""Azure ML instance types as `InstanceType` custom resources in the cluster.

The CRD (`amlarc.azureml.com/v1alpha1`) comes with the Azure ML extension, so these
wait for it. Each object is what Azure ML's instance-types doc shows for
`kubectl apply`: `metadata.name`, `spec.nodeSelector`, `spec.resources.requests`
(cpu, memory) and `spec.resources.limits` (cpu, memory and, for GPUs, an integer
`nvidia.com/gpu`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from amlkit.specs.instance_type import InstanceTypeSpec
from amlkit.specs.quantity import parse_quantity

API_VERSION = "amlarc.azureml.com/v1alpha1"
KIND = "InstanceType"


@dataclass(frozen=True)
class InstanceTypesArgs:
    specs: Sequence[InstanceTypeSpec]
    kubeconfig: pulumi.Input[str]
    """Secret; for the Kubernetes provider that creates them."""
    kubeconfig_context: str | None = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """The Azure ML extension, which installs the InstanceType CRD."""


class InstanceTypes(pulumi.ComponentResource):
    names: list[str]
    """The instance types created, by name."""

    def __init__(
        self, name: str, args: InstanceTypesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:InstanceTypes", name, None, opts)
        self.names = [spec.name for spec in args.specs]
        if args.specs:
            provider = kubernetes.Provider(
                f"{name}-provider",
                kubeconfig=pulumi.Output.secret(args.kubeconfig),
                context=args.kubeconfig_context,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for spec in args.specs:
                manifest = instance_type_manifest(spec)
                kubernetes.apiextensions.CustomResource(
                    f"{name}-{spec.name}",
                    api_version=API_VERSION,
                    kind=KIND,
                    metadata=manifest["metadata"],
                    spec=manifest["spec"],
                    opts=pulumi.ResourceOptions(
                        parent=self, provider=provider, depends_on=list(args.depends_on)
                    ),
                )
        self.register_outputs({"names": self.names})


def instance_type_manifest(spec: InstanceTypeSpec) -> dict[str, Any]:
    """The Kubernetes object for one instance type, as `kubectl apply` would take it."""
    requests = spec.resources.requests
    limits = spec.resources.limits
    limit_values: dict[str, Any] = {"cpu": limits.cpu, "memory": limits.memory}
    if limits.nvidia_gpu is not None:
        limit_values["nvidia.com/gpu"] = int(parse_quantity(limits.nvidia_gpu))
    body: dict[str, Any] = {
        "resources": {
            "requests": {"cpu": requests.cpu, "memory": requests.memory},
            "limits": limit_values,
        }
    }
    if spec.node_selector:
        body = {"nodeSelector": dict(spec.node_selector), **body}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": spec.name, "labels": {"app.kubernetes.io/managed-by": "amlkit"}},
        "spec": body,
    }
