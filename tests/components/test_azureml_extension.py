"""The Azure ML extension: its settings as Microsoft's ARM template and `az k8s-extension`
send them, and TLS material only as protected (secret) settings."""

from __future__ import annotations

import base64
from typing import Any

from amlkit.components.azureml_extension import (
    AzureMLExtension,
    AzureMLExtensionArgs,
    protected_settings,
)
from amlkit.plan.mock_engine import Recording
from amlkit.plan.native_types import check_inputs
from amlkit.specs import AzureMLExtensionSpec

EXTENSION = "azure-native:kubernetesconfiguration:Extension"
CLUSTER_ID = (
    "/subscriptions/0/resourceGroups/rg-amlkit-test/providers/"
    "Microsoft.ContainerService/managedClusters/aks-amlkit-test"
)
CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----"


def _render(render: Any, purpose: str = "fastprod", **fields: Any) -> Recording:
    spec = AzureMLExtensionSpec.model_validate(fields)

    def program() -> None:
        AzureMLExtension(
            "azureml-extension",
            AzureMLExtensionArgs(
                spec=spec,
                cluster_id=CLUSTER_ID,
                cluster_name="aks-amlkit-test",
                cluster_resource_group="rg-amlkit-test",
                location="westeurope",
                cluster_purpose=purpose,
            ),
        )

    recording: Recording = render(program)
    return recording


def test_https_inference_on_aks(render: Any) -> None:
    inputs = (
        _render(
            render,
            ssl_secret="azureml-fe-tls",
            ssl_cname="score.example.com",
            internal_load_balancer_provider="azure",
            node_selector={"agentpool": "ml"},
            install_nvidia_device_plugin=True,
        )
        .one(EXTENSION)
        .inputs
    )
    assert inputs["extensionType"] == "Microsoft.AzureML.Kubernetes"
    assert (inputs["clusterRp"], inputs["clusterResourceName"]) == (
        "Microsoft.ContainerService",
        "managedClusters",
    )
    assert (inputs["clusterName"], inputs["resourceGroupName"]) == (
        "aks-amlkit-test",
        "rg-amlkit-test",
    )
    assert inputs["releaseTrain"] == "stable"
    assert inputs["autoUpgradeMinorVersion"] is True
    assert inputs["scope"] == {"cluster": {"releaseNamespace": "azureml"}}
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["configurationSettings"] == {
        "enableTraining": "False",
        "enableInference": "True",
        "inferenceRouterServiceType": "LoadBalancer",
        "allowInsecureConnections": "False",
        "inferenceRouterHA": "True",
        "internalLoadBalancerProvider": "azure",
        "scoringFe.serviceType.internalLoadBalancer": "True",
        "sslCname": "score.example.com",
        "nodeSelector.agentpool": "ml",
        "installNvidiaDevicePlugin": "True",
        "installPromOp": "True",
        "installVolcano": "True",
        "installDcgmExporter": "False",
        "clusterPurpose": "FastProd",
        "cluster_name": CLUSTER_ID,
        "clusterId": CLUSTER_ID,
        "prometheus.prometheusSpec.externalLabels.cluster_name": CLUSTER_ID,
        "cluster_name_friendly": "aks-amlkit-test",
        "location": "westeurope",
        "jobSchedulerLocation": "westeurope",
        "domain": "westeurope.cloudapp.azure.com",
        "servicebus.enabled": "false",
        "relayserver.enabled": "false",
        "nginxIngress.enabled": "true",
    }
    # the secret's name never appears in clear
    assert inputs["configurationProtectedSettings"] == "[secret]"
    assert "azureml-fe-tls" not in repr(inputs)
    assert check_inputs(EXTENSION, inputs) == []


def test_http_for_development_on_a_small_cluster(render: Any) -> None:
    inputs = (
        _render(
            render,
            "devtest",
            allow_insecure_connections=True,
            inference_router_ha=False,
            inference_router_service_type="nodeport",
            version="1.1.64",
        )
        .one(EXTENSION)
        .inputs
    )
    settings = inputs["configurationSettings"]
    assert settings["allowInsecureConnections"] == "True"
    assert settings["inferenceRouterHA"] == "False"  # fewer than 3 nodes
    assert settings["inferenceRouterServiceType"] == "NodePort"
    assert settings["scoringFe.serviceType.nodePort"] == "True"
    assert settings["clusterPurpose"] == "DevTest"
    assert "sslCname" not in settings and "internalLoadBalancerProvider" not in settings
    assert "configurationProtectedSettings" not in inputs  # nothing secret to send
    # a pinned version turns minor upgrades off (ARM takes a version only then)
    assert (inputs["version"], inputs["autoUpgradeMinorVersion"]) == ("1.1.64", False)


def test_training_only_sends_no_inference_settings(render: Any) -> None:
    settings = (
        _render(render, enable_inference=False, enable_training=True)
        .one(EXTENSION)
        .inputs["configurationSettings"]
    )
    assert (settings["enableTraining"], settings["enableInference"]) == ("True", "False")
    assert "inferenceRouterServiceType" not in settings
    assert "inferenceRouterHA" not in settings


def test_protected_settings_carry_the_tls_material() -> None:
    by_secret = AzureMLExtensionSpec(ssl_secret="azureml-fe-tls", ssl_cname="s.example.com")
    assert protected_settings(by_secret) == {
        "sslSecret": "azureml-fe-tls",
        "scoringFe.sslSecret": "azureml-fe-tls",
    }
    by_pem = AzureMLExtensionSpec(ssl_cert_pem=CERT, ssl_key_pem=KEY, ssl_cname="s.example.com")
    found = protected_settings(by_pem)
    assert set(found) == {"scoringFe.sslCert", "scoringFe.sslKey"}
    # base64 of the PEM text, as az k8s-extension encodes sslCertPemFile / sslKeyPemFile
    assert base64.b64decode(found["scoringFe.sslCert"]).decode() == CERT
    assert base64.b64decode(found["scoringFe.sslKey"]).decode() == KEY
    assert protected_settings(AzureMLExtensionSpec(allow_insecure_connections=True)) == {}
