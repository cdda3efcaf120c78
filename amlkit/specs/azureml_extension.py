"""The Azure ML cluster extension (`Microsoft.AzureML.Kubernetes`) and its settings.

The settings and their defaults are those of Azure ML's extension doc
(how-to-deploy-kubernetes-extension, "Review Azure Machine Learning extension
configuration settings"); the rules are the ones `az k8s-extension create` applies
before it sends anything (azure-cli-extensions, k8s-extension's AzureMLKubernetes.py):
training or inference enabled; inference over HTTPS needs a certificate (an `sslSecret`
or the PEM pair) and `sslCname`, unless `allowInsecureConnections`; a NodePort router
takes no internal load balancer. The certificate material and the secret's name are
secret values: they go to Azure as protected settings, which ARM never returns.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints, model_validator

from .base import LowerCase, Spec
from .instance_type import LabelMap
from .secrets import NotPlaceholderSecret
from .types import Flag

ROUTER_SERVICE_TYPES = {
    "loadbalancer": "LoadBalancer",
    "nodeport": "NodePort",
    "clusterip": "ClusterIP",
}
CLUSTER_PURPOSES = {"devtest": "DevTest", "fastprod": "FastProd"}


class AzureMLExtensionSpec(Spec):
    """`az k8s-extension create --extension-type Microsoft.AzureML.Kubernetes` as config."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9]{0,252}$")] = "azureml"
    release_train: Annotated[Literal["stable", "preview"], LowerCase] = "stable"
    version: str | None = None
    """Pin a version; default: the release train's latest."""
    auto_upgrade_minor_version: Flag = True
    enable_inference: Flag = True
    """Online endpoints on this cluster (`enableInference`)."""
    enable_training: Flag = False
    """Training jobs and batch endpoints (`enableTraining`)."""
    inference_router_service_type: Annotated[
        Literal["loadbalancer", "nodeport", "clusterip"], LowerCase
    ] = "loadbalancer"
    """How azureml-fe is exposed (`inferenceRouterServiceType`): LoadBalancer, NodePort or
    ClusterIP (then bring your own ingress)."""
    internal_load_balancer_provider: Annotated[Literal["azure"], LowerCase] | None = None
    """`azure`: the router's load balancer gets a private IP only (AKS)."""
    inference_router_ha: Flag = True
    """Three router replicas (`inferenceRouterHA`); needs at least 3 nodes."""
    allow_insecure_connections: Flag = False
    """HTTP scoring endpoints (`allowInsecureConnections`): development only."""
    ssl_cname: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9*]([-A-Za-z0-9.]*[A-Za-z0-9])?$")]
        | None
    ) = None
    """The host name of the HTTPS scoring endpoint (`sslCname`)."""
    ssl_secret: NotPlaceholderSecret | None = None
    """A Kubernetes secret in the `azureml` namespace holding `cert.pem` and `key.pem`
    (`sslSecret`)."""
    ssl_cert_pem: NotPlaceholderSecret | None = None
    """PEM certificate (with `ssl_key_pem`) instead of `ssl_secret`; sent base64-encoded as
    the protected setting `scoringFe.sslCert`, as `az k8s-extension` does with sslCertPemFile."""
    ssl_key_pem: NotPlaceholderSecret | None = None
    node_selector: LabelMap = {}
    """Restrict the extension and every Azure ML workload to nodes with these labels."""
    install_nvidia_device_plugin: Flag = False
    """Needed for NVIDIA GPU workloads (`installNvidiaDevicePlugin`)."""
    install_prom_op: Flag = True
    """False reuses a Prometheus operator already in the cluster (`installPromOp`)."""
    install_volcano: Flag = True
    """False reuses a Volcano scheduler already in the cluster (training only)."""
    install_dcgm_exporter: Flag = False
    """GPU metrics (`installDcgmExporter`)."""
    cluster_purpose: Annotated[Literal["devtest", "fastprod"], LowerCase] | None = None
    """`clusterPurpose`. Default: `fastprod` with 3 or more nodes, else `devtest` (as
    `az k8s-extension create` chooses)."""

    @model_validator(mode="after")
    def _rules(self) -> AzureMLExtensionSpec:
        if not (self.enable_inference or self.enable_training):
            raise ValueError("enable_inference or enable_training must be true")
        if (self.ssl_cert_pem is None) != (self.ssl_key_pem is None):
            raise ValueError("ssl_cert_pem and ssl_key_pem go together")
        pem = self.ssl_cert_pem is not None
        if pem and self.ssl_secret is not None:
            raise ValueError("give ssl_secret or ssl_cert_pem/ssl_key_pem, not both")
        if not self.enable_inference:
            return self
        tls = pem or self.ssl_secret is not None
        if not tls and not self.allow_insecure_connections:
            raise ValueError(
                "inference over HTTPS needs ssl_secret (or ssl_cert_pem and ssl_key_pem) and "
                "ssl_cname; for HTTP endpoints (development only) set allow_insecure_connections: true"
            )
        if tls and self.ssl_cname is None:
            raise ValueError(
                "ssl_cname is required with a TLS certificate (the endpoint's host name)"
            )
        if (
            self.inference_router_service_type == "nodeport"
            and self.internal_load_balancer_provider is not None
        ):
            raise ValueError(
                "internal_load_balancer_provider: a NodePort inference router takes no load balancer"
            )
        return self
