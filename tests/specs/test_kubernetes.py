"""`amlkit:kubernetes` and Kubernetes online endpoints: the config rules Azure ML's docs
state, each refused in one line naming the field, and a valid stack's derived values."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from amlkit.specs import KubernetesSpec
from amlkit.specs.quantity import parse_quantity
from amlkit.specs.vm_sizes import vm_capacity

Mutation = Callable[[dict[str, Any]], object]
Build = Callable[[Mutation | None], Any]
Problems = Callable[[Mutation], list[str]]

KUBERNETES: dict[str, Any] = {
    "managed_cluster": {
        "node_pools": [{"name": "system", "vm_size": "Standard_D4s_v5", "count": 3}],
        "authorized_ip_ranges": ["203.0.113.0/24"],
        "trusted_access": True,
    },
    "extension": {"allow_insecure_connections": True},
    "compute": {"name": "k8s-compute", "namespace": "ml-online", "default_instance_type": "cpu"},
    "instance_types": [
        {
            "name": "cpu",
            "node_selector": {"agentpool": "system"},
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "2", "memory": "4Gi"},
            },
        },
        {
            "name": "gpu",
            "resources": {
                "requests": {"cpu": "2", "memory": "8Gi"},
                "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
            },
        },
    ],
}


def on_kubernetes(v: dict[str, Any]) -> None:
    """The base stack with a cluster, its online endpoint moved onto it."""
    import copy

    v["kubernetes"] = copy.deepcopy(KUBERNETES)
    endpoint = v["online_endpoints"][0]
    endpoint["compute"] = "azureml:k8s-compute"
    for deployment in endpoint["deployments"]:
        deployment.pop("autoscale", None)
        deployment["instance_type"] = "cpu"
        deployment["resources"] = {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        }


def k8s(change: Callable[[dict[str, Any]], object]) -> Mutation:
    def mutate(v: dict[str, Any]) -> None:
        on_kubernetes(v)
        change(v)

    return mutate


def section(v: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = v["kubernetes"]
    return found


def pool(v: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = v["kubernetes"]["managed_cluster"]["node_pools"][0]
    return found


def endpoint(v: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = v["online_endpoints"][0]
    return found


def blue(v: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = v["online_endpoints"][0]["deployments"][0]
    return found


def instance(v: dict[str, Any], index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = v["kubernetes"]["instance_types"][index]
    return found


RULES: list[tuple[str, Mutation, str, str]] = [
    (
        "three router replicas need three nodes",
        k8s(lambda v: pool(v).update(count=2)),
        "kubernetes",
        "inference_router_ha needs at least 3 nodes for its 3 router replicas; the cluster has 2",
    ),
    (
        "an autoscaled pool counts its minimum",
        k8s(lambda v: pool(v).update(count=3, min_count=1, max_count=5)),
        "kubernetes",
        "the cluster has 1",
    ),
    (
        "a production cluster has three nodes",
        k8s(
            lambda v: (
                pool(v).update(count=2),
                section(v)["extension"].update(
                    inference_router_ha=False, cluster_purpose="FastProd"
                ),
            )
        ),
        "kubernetes",
        "cluster_purpose fastprod needs at least 3 nodes",
    ),
    (
        "nodes meet Azure ML's size minimum",
        k8s(lambda v: pool(v).update(vm_size="Standard_F2s_v2")),
        "kubernetes",
        "Standard_F2s_v2 has 2 vCPU / 4 GiB; Azure ML's fastprod minimum is 4 vCPU / 14 GiB",
    ),
    (
        "a size amlkit cannot size states its vCPUs and memory",
        k8s(lambda v: pool(v).update(vm_size="Standard_X4_v9")),
        "kubernetes.managed_cluster.node_pools[system]",
        "state its `vcpus` and `memory_gib`",
    ),
    (
        "the cluster has a managed identity, never none",
        k8s(lambda v: section(v)["managed_cluster"].update(identity={"type": "none"})),
        "kubernetes.managed_cluster",
        "needs the cluster to have a managed identity",
    ),
    (
        "no service principal can be configured",
        k8s(
            lambda v: section(v)["managed_cluster"].update(
                service_principal_profile={"client_id": "x"}
            )
        ),
        "kubernetes.managed_cluster.service_principal_profile",
        "is not a known field",
    ),
    (
        "local accounts off needs Trusted Access",
        k8s(
            lambda v: section(v)["managed_cluster"].update(
                local_accounts=False, trusted_access=False
            )
        ),
        "kubernetes.managed_cluster",
        "local_accounts: false needs trusted_access: true",
    ),
    (
        "inference over HTTPS needs a certificate",
        k8s(lambda v: section(v).update(extension={})),
        "kubernetes.extension",
        "inference over HTTPS needs ssl_secret",
    ),
    (
        "a certificate needs its CNAME",
        k8s(lambda v: section(v).update(extension={"ssl_secret": "azureml-fe-tls"})),
        "kubernetes.extension",
        "ssl_cname is required",
    ),
    (
        "the PEM pair goes together",
        k8s(
            lambda v: section(v).update(
                extension={"ssl_cert_pem": "-----BEGIN CERT", "ssl_cname": "x.example.com"}
            )
        ),
        "kubernetes.extension",
        "ssl_cert_pem and ssl_key_pem go together",
    ),
    (
        "secrets are never placeholders",
        k8s(
            lambda v: section(v).update(
                extension={"ssl_secret": "changeme", "ssl_cname": "x.example.com"}
            )
        ),
        "kubernetes.extension.ssl_secret",
        "is a placeholder",
    ),
    (
        "a NodePort router takes no load balancer",
        k8s(
            lambda v: section(v)["extension"].update(
                inference_router_service_type="NodePort", internal_load_balancer_provider="azure"
            )
        ),
        "kubernetes.extension",
        "a NodePort inference router takes no load balancer",
    ),
    (
        "the compute's default instance type exists",
        k8s(lambda v: section(v)["compute"].update(default_instance_type="big")),
        "kubernetes",
        "compute.default_instance_type 'big' is not in instance_types (cpu, gpu)",
    ),
    (
        "GPUs go in instance type limits only",
        k8s(lambda v: instance(v, 1)["resources"]["requests"].update({"nvidia.com/gpu": 1})),
        "kubernetes.instance_types[gpu].resources.requests.nvidia.com/gpu",
        "is not a known field",
    ),
    (
        "GPUs are whole",
        k8s(lambda v: instance(v, 1)["resources"]["limits"].update({"nvidia.com/gpu": "0.5"})),
        "kubernetes.instance_types[gpu].resources.limits.nvidia.com/gpu",
        "whole devices",
    ),
    (
        "instance type requests stay under its limits",
        k8s(lambda v: instance(v)["resources"]["requests"].update(cpu="3")),
        "kubernetes.instance_types[cpu].resources",
        "requests.cpu (3) is above limits.cpu (2)",
    ),
    (
        "instance type values are not zero",
        k8s(lambda v: instance(v)["resources"]["requests"].update(memory="0")),
        "kubernetes.instance_types[cpu].resources",
        "requests.memory: Azure refuses zero",
    ),
    (
        "instance type memory is a Kubernetes quantity",
        k8s(lambda v: instance(v)["resources"]["limits"].update(memory="4 GB")),
        "kubernetes.instance_types[cpu].resources.limits.memory",
        "is not a Kubernetes quantity",
    ),
    (
        "instance type names are Kubernetes names",
        k8s(lambda v: instance(v).update(name="CPU_small")),
        "kubernetes.instance_types[CPU_small].name",
        "does not match",
    ),
    (
        "an instance type's node selector can match beside the extension's",
        k8s(lambda v: section(v)["extension"].update(node_selector={"agentpool": "gpu"})),
        "kubernetes",
        "node_selector agentpool=system contradicts the extension's agentpool=gpu",
    ),
    (
        "a cluster is new or existing, not both",
        k8s(
            lambda v: section(v).update(
                existing_cluster={
                    "resource_id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/aks",
                    "kubeconfig": {"value": "apiVersion: v1"},
                }
            )
        ),
        "kubernetes",
        "give exactly one of managed_cluster and existing_cluster",
    ),
    (
        "an existing cluster's kubeconfig file exists",
        k8s(
            lambda v: (
                section(v).pop("managed_cluster"),
                section(v).update(
                    existing_cluster={
                        "resource_id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/aks",
                        "kubeconfig": {"file": "missing.kubeconfig"},
                    }
                ),
            )
        ),
        "kubernetes.existing_cluster.kubeconfig.file",
        "missing.kubeconfig does not exist",
    ),
    (
        "an existing cluster is named by its ARM id",
        k8s(
            lambda v: (
                section(v).pop("managed_cluster"),
                section(v).update(
                    existing_cluster={"resource_id": "aks-1", "kubeconfig": {"value": "x-config"}}
                ),
            )
        ),
        "kubernetes.existing_cluster.resource_id",
        "does not match",
    ),
    (
        "an existing cluster of known size still needs three nodes for HA",
        k8s(
            lambda v: (
                section(v).pop("managed_cluster"),
                section(v).update(
                    existing_cluster={
                        "resource_id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/aks",
                        "kubeconfig": {"value": "x-config"},
                        "node_count": 1,
                    }
                ),
            )
        ),
        "kubernetes",
        "the cluster has 1",
    ),
    # -- Kubernetes online endpoints -------------------------------------------------------
    (
        "Kubernetes endpoints take no Entra token auth",
        k8s(lambda v: endpoint(v).update(auth_mode="aad_token")),
        "online_endpoints[test-score]",
        "auth_mode aad_token: Kubernetes endpoints take key or aml_token",
    ),
    (
        "public network access is a managed endpoint's",
        k8s(lambda v: endpoint(v).update(public_network_access="disabled")),
        "online_endpoints[test-score]",
        "public_network_access: managed endpoints only",
    ),
    (
        "the compute is the stack's Kubernetes compute",
        k8s(lambda v: endpoint(v).update(compute="azureml:other-k8s")),
        "",
        "compute 'azureml:other-k8s' is not this stack's Kubernetes compute; name azureml:k8s-compute",
    ),
    (
        "an AmlCompute cluster serves no online endpoint",
        k8s(lambda v: endpoint(v).update(compute="azureml:cpu-cluster")),
        "",
        "is an AmlCompute cluster, which serves batch only",
    ),
    (
        "a Kubernetes compute outside the stack is named by ARM id",
        k8s(lambda v: endpoint(v).update(compute="k8s-compute")),
        "online_endpoints[test-score]",
        "name a Kubernetes compute as azureml:<name> or by its ARM id",
    ),
    (
        "endpoint and deployment names total at most 62",
        k8s(
            lambda v: (
                endpoint(v).update(name="a" * 32, traffic={}),
                blue(v).update(name="b" * 31),
            )
        ),
        "online_endpoints",
        "endpoint and deployment names total 63 characters; Kubernetes endpoints allow 62",
    ),
    (
        "a deployment's instance type exists",
        k8s(lambda v: blue(v).update(instance_type="huge")),
        "",
        "deployment 'blue': instance_type 'huge' is not in kubernetes.instance_types (cpu, gpu)",
    ),
    (
        "a deployment's limits stay within its instance type's",
        k8s(lambda v: blue(v)["resources"]["limits"].update(memory="8Gi")),
        "",
        "resources.limits.memory (8Gi) is above instance type 'cpu''s limit (4Gi)",
    ),
    (
        "no GPU beyond its instance type's",
        k8s(lambda v: blue(v)["resources"]["limits"].update({"nvidia.com/gpu": 1})),
        "",
        "resources.limits.nvidia.com/gpu (1) is above instance type 'cpu''s limit (none)",
    ),
    (
        "Azure's default instance type bounds a deployment that names none",
        k8s(
            lambda v: (
                section(v)["compute"].update(default_instance_type="defaultinstancetype"),
                blue(v).pop("instance_type"),
                blue(v)["resources"]["limits"].update(memory="3Gi"),
            )
        ),
        "",
        "above instance type 'defaultinstancetype''s limit (2Gi)",
    ),
    (
        "GPUs go in a deployment's limits only",
        k8s(lambda v: blue(v)["resources"]["requests"].update({"nvidia.com/gpu": 1})),
        "online_endpoints[test-score].deployments[blue].resources",
        "requests.nvidia.com/gpu: GPUs go under limits only",
    ),
    (
        "a deployment's requests name CPU and memory",
        k8s(lambda v: blue(v)["resources"]["requests"].pop("memory")),
        "online_endpoints[test-score].deployments[blue].resources",
        "requests.cpu and requests.memory are required",
    ),
    (
        "a deployment's requests stay under its limits",
        k8s(lambda v: blue(v)["resources"]["requests"].update(cpu="2")),
        "online_endpoints[test-score].deployments[blue].resources",
        "requests.cpu (2) is above limits.cpu (1)",
    ),
    (
        "a deployment asks for at least 1 MB",
        k8s(lambda v: blue(v)["resources"]["requests"].update(memory="512Ki")),
        "online_endpoints[test-score].deployments[blue].resources",
        "below Azure's 1 MB",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "path", "words"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_rule(problems: Problems, mutation: Mutation, path: str, words: str) -> None:
    lines = problems(mutation)
    matching = [line for line in lines if words in line]
    assert matching, f"no problem says {words!r}: {lines}"
    assert all(":" in line for line in lines)
    assert any(f": {path}" in line or f" {path}" in line for line in matching), matching
    assert not any("Traceback" in line for line in lines)


def test_a_kubernetes_stack_is_valid_and_derives_its_values(build: Build) -> None:
    spec = build(on_kubernetes)
    kubernetes = spec.kubernetes
    assert kubernetes is not None
    assert kubernetes.guaranteed_nodes == 3
    assert kubernetes.cluster_purpose == "fastprod"  # 3 nodes, as az k8s-extension picks
    assert kubernetes.trusted_access is True
    assert kubernetes.instance_type(None) is not None
    assert kubernetes.instance_type(None).name == "cpu"
    assert kubernetes.instance_type("defaultinstancetype").resources.limits.memory == "2Gi"
    assert kubernetes.instance_type("nope") is None
    assert spec.online_endpoints[0].kind == "kubernetes"
    assert {d.type for d in spec.online_endpoints[0].deployments} == {"kubernetes"}


def test_a_small_cluster_is_devtest_with_one_router(build: Build) -> None:
    def small(v: dict[str, Any]) -> None:
        on_kubernetes(v)
        pool(v).update(count=1, vm_size="Standard_DS2_v2")
        section(v)["extension"].update(inference_router_ha=False)

    kubernetes = build(small).kubernetes
    assert (kubernetes.guaranteed_nodes, kubernetes.cluster_purpose) == (1, "devtest")


def test_an_existing_cluster_with_a_kubeconfig_file(build: Build, stack_dir: Path) -> None:
    (stack_dir / "aks.kubeconfig").write_text("apiVersion: v1\nkind: Config\n")

    def existing(v: dict[str, Any]) -> None:
        on_kubernetes(v)
        section(v).pop("managed_cluster")
        section(v)["existing_cluster"] = {
            "resource_id": "/subscriptions/s/resourceGroups/rg-aks/providers/"
            "Microsoft.ContainerService/managedClusters/aks-shared",
            "kubeconfig": {"file": "aks.kubeconfig", "context": "aks-shared-admin"},
        }

    kubernetes = build(existing).kubernetes
    cluster = kubernetes.existing_cluster
    assert (cluster.name, cluster.resource_group) == ("aks-shared", "rg-aks")
    assert cluster.kubeconfig.file == str(stack_dir / "aks.kubeconfig")
    assert kubernetes.guaranteed_nodes is None
    assert kubernetes.cluster_purpose == "fastprod"  # unknown size: HA and production defaults


def test_the_section_defaults_to_a_new_hardened_cluster() -> None:
    spec = KubernetesSpec.model_validate({"extension": {"allow_insecure_connections": True}})
    cluster = spec.managed_cluster
    assert cluster is not None
    assert cluster.identity.type == "system_assigned"
    assert (cluster.network_policy, cluster.azure_rbac, cluster.azure_policy) == (
        "azure",
        True,
        True,
    )
    assert [(p.vm_size, p.count) for p in cluster.node_pools] == [("Standard_D4s_v5", 3)]
    assert (spec.compute.namespace, spec.compute.default_instance_type) == (
        "azureml-workloads",
        "defaultinstancetype",
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", Decimal("0.1")),
        ("2", Decimal(2)),
        ("0.5", Decimal("0.5")),
        ("1500Mi", Decimal(1500 * 2**20)),
        ("2Gi", Decimal(2 * 2**30)),
        ("0.1Gi", Decimal("0.1") * 2**30),
        ("1G", Decimal(10**9)),
        ("1e3", Decimal(1000)),
        ("512Ki", Decimal(512 * 1024)),
    ],
)
def test_quantities_read_as_kubernetes_reads_them(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "2 Gi", "1.5Gb", "-1", "Gi", "1e"])
def test_malformed_quantities_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        parse_quantity(text)


def test_vm_sizes_from_azures_tables() -> None:
    assert vm_capacity("Standard_DS2_v2") == vm_capacity("STANDARD_DS2_V2")
    capacities = {
        size: (c.vcpus, c.memory_gib)
        for size in ("Standard_DS2_v2", "Standard_DS3_v2", "Standard_D4s_v5", "Standard_E8s_v5")
        if (c := vm_capacity(size)) is not None
    }
    assert capacities == {
        "Standard_DS2_v2": (2, 7.0),  # Azure ML's test minimum
        "Standard_DS3_v2": (4, 14.0),  # its production minimum
        "Standard_D4s_v5": (4, 16),
        "Standard_E8s_v5": (8, 64),
    }
    assert vm_capacity("Standard_Unknown9") is None


def test_a_refused_secret_is_not_echoed(problems: Problems) -> None:
    lines = problems(
        k8s(
            lambda v: section(v).update(
                extension={"ssl_secret": "<the secret>", "ssl_cname": "x.example.com"}
            )
        )
    )
    assert any("ssl_secret" in line and "is a placeholder" in line for line in lines), lines
    assert not any("<the secret>" in line for line in lines), lines
