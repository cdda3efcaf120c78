"""InstanceType custom resources: Microsoft's documented shape, through a Kubernetes
provider built from the cluster's kubeconfig, after the extension that brings the CRD."""

from __future__ import annotations

from typing import Any

import pulumi

from amlkit.components.instance_types import (
    InstanceTypes,
    InstanceTypesArgs,
    instance_type_manifest,
)
from amlkit.plan.mock_engine import Recording
from amlkit.specs import InstanceTypeSpec

INSTANCE_TYPE = "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType"
PROVIDER = "pulumi:providers:kubernetes"

GPU = InstanceTypeSpec.model_validate(
    {
        "name": "gpu-t4",
        "node_selector": {"accelerator": "t4"},
        "resources": {
            "requests": {"cpu": "2", "memory": "8Gi"},
            "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
        },
    }
)
CPU = InstanceTypeSpec.model_validate(
    {
        "name": "cpu-small",
        "resources": {
            "requests": {"cpu": "700m", "memory": "1500Mi"},
            "limits": {"cpu": "1", "memory": "2Gi"},
        },
    }
)


def test_instance_types_are_custom_resources_after_the_extension(render: Any) -> None:
    def program() -> None:
        extension = pulumi.CustomResource(
            "test:index:Extension", "azureml-extension", {"extensionType": "x"}
        )
        InstanceTypes(
            "instance-types",
            InstanceTypesArgs(
                specs=[CPU, GPU],
                kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"),
                kubeconfig_context="aks-admin",
                depends_on=[extension],
            ),
        )

    recording: Recording = render(program)
    provider = recording.one(PROVIDER)
    assert (provider.inputs["kubeconfig"], provider.inputs["context"]) == ("[secret]", "aks-admin")
    extension = recording.one("test:index:Extension")
    by_name = {r.inputs["metadata"]["name"]: r for r in recording.of_type(INSTANCE_TYPE)}
    assert set(by_name) == {"cpu-small", "gpu-t4"}
    gpu = by_name["gpu-t4"]
    assert gpu.name == "instance-types-gpu-t4"
    assert (gpu.inputs["apiVersion"], gpu.inputs["kind"]) == (
        "amlarc.azureml.com/v1alpha1",
        "InstanceType",
    )
    assert gpu.inputs["spec"] == {
        "nodeSelector": {"accelerator": "t4"},
        "resources": {
            "requests": {"cpu": "2", "memory": "8Gi"},
            "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
        },
    }
    assert "nodeSelector" not in by_name["cpu-small"].inputs["spec"]
    assert all(extension.urn in r.depends_on for r in by_name.values())


def test_no_instance_type_no_provider(render: Any) -> None:
    recording: Recording = render(
        lambda: InstanceTypes("instance-types", InstanceTypesArgs(specs=[], kubeconfig="x"))
    )
    assert recording.of_type(PROVIDER) == [] and recording.of_type(INSTANCE_TYPE) == []


def test_gpus_are_integers_in_limits_only() -> None:
    manifest = instance_type_manifest(GPU)
    assert manifest["spec"]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert isinstance(manifest["spec"]["resources"]["limits"]["nvidia.com/gpu"], int)
    assert "nvidia.com/gpu" not in manifest["spec"]["resources"]["requests"]
