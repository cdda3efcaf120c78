"""What Azure would compute for a resource, for Pulumi's mock runtime.

The mock engine must return the outputs a provider computes (`id`, `principalId`,
`clientId`, `loginServer`, `scoringUri`, ...); an echo mock leaves them empty and
wiring silently drops them. Ids follow ARM's path shapes so that `scope`s and
references built from them look as they will in Azure.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "11111111-1111-1111-1111-111111111111"

_ML = "Microsoft.MachineLearningServices/workspaces/{workspaceName}"
# type token -> ARM path below the resource group (or a full path for scoped types)
_PATHS: dict[str, str] = {
    "storage:StorageAccount": "Microsoft.Storage/storageAccounts/{accountName}",
    "storage:BlobContainer": "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}",
    "storage:Blob": "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}/blobs/{blobName}",
    "keyvault:Vault": "Microsoft.KeyVault/vaults/{vaultName}",
    "containerregistry:Registry": "Microsoft.ContainerRegistry/registries/{registryName}",
    "operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces/{workspaceName}",
    "applicationinsights:Component": "Microsoft.Insights/components/{resourceName}",
    "managedidentity:UserAssignedIdentity": "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
    "machinelearningservices:Workspace": _ML,
    "machinelearningservices:Compute": _ML + "/computes/{computeName}",
    "machinelearningservices:Datastore": _ML + "/datastores/{name}",
    "machinelearningservices:OnlineEndpoint": _ML + "/onlineEndpoints/{endpointName}",
    "machinelearningservices:OnlineDeployment": _ML
    + "/onlineEndpoints/{endpointName}/deployments/{deploymentName}",
    "machinelearningservices:BatchEndpoint": _ML + "/batchEndpoints/{endpointName}",
    "machinelearningservices:BatchDeployment": _ML
    + "/batchEndpoints/{endpointName}/deployments/{deploymentName}",
    "machinelearningservices:ModelContainer": _ML + "/models/{name}",
    "machinelearningservices:ModelVersion": _ML + "/models/{name}/versions/{version}",
    "machinelearningservices:CodeContainer": _ML + "/codes/{name}",
    "machinelearningservices:CodeVersion": _ML + "/codes/{name}/versions/{version}",
    "machinelearningservices:DataVersion": _ML + "/data/{name}/versions/{version}",
    "machinelearningservices:EnvironmentContainer": _ML + "/environments/{name}",
    "machinelearningservices:EnvironmentVersion": _ML + "/environments/{name}/versions/{version}",
    "machinelearningservices:ComponentContainer": _ML + "/components/{name}",
    "machinelearningservices:ComponentVersion": _ML + "/components/{name}/versions/{version}",
    "containerservice:ManagedCluster": "Microsoft.ContainerService/managedClusters/{resourceName}",
    "containerservice:TrustedAccessRoleBinding": "Microsoft.ContainerService/managedClusters/{resourceName}/trustedAccessRoleBindings/{trustedAccessRoleBindingName}",
    "kubernetesconfiguration:Extension": "Microsoft.ContainerService/managedClusters/{clusterName}/providers/Microsoft.KubernetesConfiguration/extensions/{extensionName}",
    "monitor:MetricAlert": "Microsoft.Insights/metricAlerts/{ruleName}",
    "monitor:ActionGroup": "Microsoft.Insights/actionGroups/{actionGroupName}",
    "monitor:AutoscaleSetting": "Microsoft.Insights/autoscalesettings/{autoscaleSettingName}",
    "monitor:ScheduledQueryRule": "Microsoft.Insights/scheduledQueryRules/{ruleName}",
}
_SCOPED: dict[str, str] = {
    "authorization:RoleAssignment": "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
    "monitor:DiagnosticSetting": "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}",
}
_WITH_SYSTEM_IDENTITY = {
    "machinelearningservices:Workspace",
    "machinelearningservices:OnlineEndpoint",
    "machinelearningservices:Compute",
    "machinelearningservices:BatchEndpoint",
    "containerservice:ManagedCluster",
    "kubernetesconfiguration:Extension",
}


def stable_guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _short_type(typ: str) -> str:
    return typ.removeprefix("azure-native:")


def resource_id(typ: str, name: str, inputs: dict[str, Any]) -> str:
    short = _short_type(typ)
    values = {k: v for k, v in inputs.items() if isinstance(v, str)}
    values.setdefault("name", name)
    if short in _SCOPED:
        return _format(_SCOPED[short], values, name)
    group = (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{inputs.get('resourceGroupName', 'rg')}"
    )
    if short == "resources:ResourceGroup":
        return group
    path = _PATHS.get(short)
    if path is None:
        return f"{group}/providers/mock/{short.replace(':', '.')}/{name}"
    return f"{group}/providers/{_format(path, values, name)}"


def _format(template: str, values: dict[str, str], name: str) -> str:
    class Default(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return name

    return template.format_map(Default(values))


def computed_outputs(typ: str, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    """The inputs, plus what Azure fills in for this type."""
    short = _short_type(typ)
    out: dict[str, Any] = {**inputs, "name": _leaf_name(inputs, name), "id": rid}
    location = inputs.get("location", "westeurope")
    if short == "managedidentity:UserAssignedIdentity":
        out |= {
            "principalId": stable_guid("principal", rid),
            "clientId": stable_guid("client", rid),
            "tenantId": TENANT_ID,
        }
    if short in _WITH_SYSTEM_IDENTITY:
        identity = dict(inputs.get("identity") or {})
        assigned = identity.get("userAssignedIdentities")
        if isinstance(assigned, list):  # ARM answers with a map: id -> principal and client ids
            identity["userAssignedIdentities"] = {
                str(i): {
                    "principalId": stable_guid("principal", str(i)),
                    "clientId": stable_guid("client", str(i)),
                }
                for i in assigned
            }
        if "SystemAssigned" in str(identity.get("type", "SystemAssigned")):
            identity |= {"principalId": stable_guid("principal", rid), "tenantId": TENANT_ID}
        out["identity"] = identity
    if short == "containerregistry:Registry":
        out["loginServer"] = f"{inputs.get('registryName', name)}.azurecr.io"
    if short == "storage:StorageAccount":
        account = inputs.get("accountName", name)
        out["primaryEndpoints"] = {"blob": f"https://{account}.blob.core.windows.net/"}
    if short in ("machinelearningservices:OnlineEndpoint", "machinelearningservices:BatchEndpoint"):
        endpoint = inputs.get("endpointName", name)
        route = "score" if "Online" in short else "jobs"
        props = dict(inputs.get("properties") or {})
        props["scoringUri"] = f"https://{endpoint}.{location}.inference.ml.azure.com/{route}"
        props["swaggerUri"] = f"https://{endpoint}.{location}.inference.ml.azure.com/swagger.json"
        out["properties"] = props
    if short == "applicationinsights:Component":
        out["connectionString"] = f"InstrumentationKey={stable_guid('ikey', rid)}"
        out["instrumentationKey"] = stable_guid("ikey", rid)
    if typ.startswith("docker-build:"):
        digest = "sha256:" + hashlib.sha256(repr(sorted(inputs.items())).encode()).hexdigest()
        out["digest"] = digest
        tags = inputs.get("tags") or [name]
        repo = str(tags[0]).rsplit(":", 1)[0]
        out["ref"] = f"{repo}@{digest}"
    return out


def _leaf_name(inputs: dict[str, Any], name: str) -> str:
    for key in (
        "deploymentName",
        "extensionName",
        "trustedAccessRoleBindingName",
        "containerName",
        "blobName",
        "endpointName",
        "computeName",
        "version",
        "name",
        "workspaceName",
        "resourceName",
        "accountName",
        "vaultName",
        "registryName",
        "actionGroupName",
        "ruleName",
        "autoscaleSettingName",
        "roleAssignmentName",
        "resourceGroupName",
    ):
        if isinstance(inputs.get(key), str):
            return str(inputs[key])
    return name


def mock_kubeconfig(cluster: str) -> str:
    """What AKS's list-credentials call answers: a kubeconfig, base64-encoded, with no
    secret in it (a token that opens nothing)."""
    text = (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {cluster}\n  cluster:\n"
        f"    server: https://{cluster}.hcp.westeurope.azmk8s.io:443\n"
        f"contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: mock\n"
        f"current-context: {cluster}\n"
        "users:\n- name: mock\n  user:\n    token: mock-token-opens-nothing\n"
    )
    return base64.b64encode(text.encode()).decode()
