"""The Azure ML extension on an AKS cluster (`Microsoft.AzureML.Kubernetes`).

Installed cluster-wide in the `azureml` namespace with a system-assigned identity, on
the `stable` release train unless the spec says otherwise, as Microsoft's own ARM
template does (Azure/AML-Kubernetes, files/deployextension.json). Besides the documented
settings, it sends the AKS keys that template and `az k8s-extension create` set
(azure-cli-extensions, k8s-extension's AzureMLKubernetes.py): the cluster's ARM id as
`cluster_name`, `clusterId` and Prometheus's cluster label, its friendly name, its
region as `location`, `jobSchedulerLocation` and the `<region>.cloudapp.azure.com`
domain, no Service Bus or relay (Arc only), and the ingress controller on. TLS material
and the secret's name go as protected settings: ARM never returns them.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import kubernetesconfiguration as k8sconfig

from amlkit.specs.azureml_extension import (
    CLUSTER_PURPOSES,
    ROUTER_SERVICE_TYPES,
    AzureMLExtensionSpec,
)

EXTENSION_TYPE = "Microsoft.AzureML.Kubernetes"
RELEASE_NAMESPACE = "azureml"


@dataclass(frozen=True)
class AzureMLExtensionArgs:
    spec: AzureMLExtensionSpec
    cluster_id: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    cluster_resource_group: pulumi.Input[str]
    location: str
    """The cluster's region."""
    cluster_purpose: str
    """`devtest` or `fastprod` (KubernetesSpec.cluster_purpose)."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


class AzureMLExtension(pulumi.ComponentResource):
    extension_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    """The extension's system-assigned identity."""
    release_train: str

    def __init__(
        self, name: str, args: AzureMLExtensionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:AzureMLExtension", name, None, opts)
        spec = args.spec
        protected = protected_settings(spec)
        extension = k8sconfig.Extension(
            name,
            extension_name=spec.name,
            cluster_rp="Microsoft.ContainerService",
            cluster_resource_name="managedClusters",
            cluster_name=args.cluster_name,
            resource_group_name=args.cluster_resource_group,
            extension_type=EXTENSION_TYPE,
            release_train=spec.release_train,
            version=spec.version,
            # ARM takes a pinned version only with minor upgrades off.
            auto_upgrade_minor_version=spec.auto_upgrade_minor_version and spec.version is None,
            scope=k8sconfig.ScopeArgs(
                cluster=k8sconfig.ScopeClusterArgs(release_namespace=RELEASE_NAMESPACE)
            ),
            identity=k8sconfig.IdentityArgs(type=k8sconfig.ResourceIdentityType.SYSTEM_ASSIGNED),
            configuration_settings=configuration_settings(
                spec, args.cluster_id, args.cluster_name, args.location, args.cluster_purpose
            ),
            configuration_protected_settings=pulumi.Output.secret(protected) if protected else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.extension_id = extension.id
        self.principal_id = extension.identity.apply(
            lambda identity: (identity.principal_id if identity else None) or ""
        )
        self.release_train = spec.release_train
        self.register_outputs({"extension_id": self.extension_id})


def _flag(value: bool) -> str:
    return "True" if value else "False"


def configuration_settings(
    spec: AzureMLExtensionSpec,
    cluster_id: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    location: str,
    purpose: str,
) -> dict[str, pulumi.Input[str]]:
    """The extension's `configurationSettings`, documented keys first, then the AKS keys."""
    settings: dict[str, pulumi.Input[str]] = {
        "enableTraining": _flag(spec.enable_training),
        "enableInference": _flag(spec.enable_inference),
    }
    if spec.enable_inference:
        settings |= {
            "inferenceRouterServiceType": ROUTER_SERVICE_TYPES[spec.inference_router_service_type],
            "allowInsecureConnections": _flag(spec.allow_insecure_connections),
            "inferenceRouterHA": _flag(spec.inference_router_ha),
        }
        if spec.inference_router_service_type == "nodeport":
            settings["scoringFe.serviceType.nodePort"] = "True"
        if spec.internal_load_balancer_provider is not None:
            settings["internalLoadBalancerProvider"] = spec.internal_load_balancer_provider
            settings["scoringFe.serviceType.internalLoadBalancer"] = "True"
        if spec.ssl_cname is not None:
            settings["sslCname"] = spec.ssl_cname
    settings |= {f"nodeSelector.{key}": value for key, value in spec.node_selector.items()}
    settings |= {
        "installNvidiaDevicePlugin": _flag(spec.install_nvidia_device_plugin),
        "installPromOp": _flag(spec.install_prom_op),
        "installVolcano": _flag(spec.install_volcano),
        "installDcgmExporter": _flag(spec.install_dcgm_exporter),
        "clusterPurpose": CLUSTER_PURPOSES[purpose],
        # What Microsoft's ARM template and `az k8s-extension create` set for AKS.
        "cluster_name": cluster_id,
        "clusterId": cluster_id,
        "prometheus.prometheusSpec.externalLabels.cluster_name": cluster_id,
        "cluster_name_friendly": cluster_name,
        "location": location,
        "jobSchedulerLocation": location,
        "domain": f"{location}.cloudapp.azure.com",
        "servicebus.enabled": "false",
        "relayserver.enabled": "false",
        "nginxIngress.enabled": "true",
    }
    return settings


def protected_settings(spec: AzureMLExtensionSpec) -> dict[str, str]:
    """`configurationProtectedSettings`: the TLS secret's name, or the PEM pair base64-encoded
    as `az k8s-extension` encodes sslCertPemFile/sslKeyPemFile. Empty without TLS."""
    if not spec.enable_inference:
        return {}
    if spec.ssl_secret is not None:
        name = spec.ssl_secret.get_secret_value()
        return {"sslSecret": name, "scoringFe.sslSecret": name}
    if spec.ssl_cert_pem is not None and spec.ssl_key_pem is not None:
        return {
            "scoringFe.sslCert": _b64(spec.ssl_cert_pem.get_secret_value()),
            "scoringFe.sslKey": _b64(spec.ssl_key_pem.get_secret_value()),
        }
    return {}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("ascii")).decode("ascii")
