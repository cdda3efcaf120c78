"""What a teardown does in Azure itself, before `pulumi destroy`: traffic to zero, and
with `--purge` the names Azure would otherwise keep, released.

Traffic: every online endpoint's split goes to zero through the same provider and
strategy `pulumi destroy` uses (`EndpointSettingProvider` with `OnlineTraffic`, whose
delete writes `on_delete`), so no deployment is deleted while it serves, even when the
destroy stops half-way. An endpoint already gone is no error.

Purge, where Azure allows it:
- the Azure ML workspace: DELETE with `forceToPurge=true` deletes it permanently
  instead of soft-deleting it for 14 days (Azure ML "workspace soft deletion");
- Log Analytics: DELETE with `force=true` releases its name at once instead of
  keeping it 14 days (Log Analytics REST "Workspaces - Delete");
- the key vault: Azure refuses to purge a vault with purge protection, which amlkit
  always turns on; it keeps its name for its soft-delete retention, and the next
  environment's salt gives it another name. Reported, never attempted.
Both deletes run before `pulumi destroy`, whose deletes of them then find nothing (404)
and succeed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from azure.core.credentials import TokenCredential

from amlkit.components.dynamic.arm_client import ML_API_VERSION, PUBLIC_CLOUD, ArmClient
from amlkit.components.dynamic.endpoint_setting import (
    ARM_ENDPOINT_VARIABLE,
    EndpointSettingProvider,
    default_credential,
)
from amlkit.components.dynamic.online_traffic import OnlineTraffic

from .state import (
    KEY_VAULT_TYPE,
    LOG_ANALYTICS_TYPE,
    ML_WORKSPACE_TYPE,
    TRAFFIC_TYPE,
    StateResource,
    of_type,
)

LOG_ANALYTICS_API_VERSION = "2025-07-01"
"""Microsoft.OperationalInsights workspaces; the `force` flag of DELETE is documented there."""


@dataclass(frozen=True)
class Azure:
    """Where ARM is and who calls it; the tests point it at the stand-in."""

    arm_endpoint: str | None = None
    """Default: $AMLKIT_ARM_ENDPOINT, else public Azure."""
    credential: Callable[[], TokenCredential] | None = None
    """A factory; default: azure-identity's DefaultAzureCredential (as the provider's)."""

    def credentials(self) -> Callable[[], TokenCredential]:
        return self.credential or default_credential

    def client(self, api_version: str = ML_API_VERSION) -> ArmClient:
        base_url = self.arm_endpoint or os.environ.get(ARM_ENDPOINT_VARIABLE) or PUBLIC_CLOUD
        return ArmClient(self.credentials()(), base_url, api_version=api_version)


def zero_traffic(state: list[StateResource], azure: Azure) -> list[str]:
    """Set every online endpoint's live and mirrored traffic to zero; one line each."""
    done = []
    provider = EndpointSettingProvider(OnlineTraffic(), azure.arm_endpoint, azure.credentials())
    for resource in of_type(state, TRAFFIC_TYPE):
        provider.delete(resource.id or "", dict(resource.outputs))
        done.append(f"traffic of {resource.outputs.get('endpointName')} set to 0")
    return done


def purge(state: list[StateResource], azure: Azure) -> list[str]:
    """Delete for good what Azure lets us; say what it keeps and why. One line each."""
    lines = []
    for workspace in of_type(state, ML_WORKSPACE_TYPE):
        if workspace.id:
            azure.client().delete(workspace.id, {"forceToPurge": "true"})
            lines.append(f"workspace {workspace.outputs.get('name')} deleted permanently")
    for logs in of_type(state, LOG_ANALYTICS_TYPE):
        if logs.id:
            azure.client(LOG_ANALYTICS_API_VERSION).delete(logs.id, {"force": "true"})
            lines.append(f"Log Analytics {logs.outputs.get('name')} deleted, its name released")
    for vault in of_type(state, KEY_VAULT_TYPE):
        properties = vault.outputs.get("properties") or {}
        days = properties.get("softDeleteRetentionInDays", 90)
        lines.append(
            f"key vault {vault.outputs.get('name')} keeps its name up to {days} days: purge "
            "protection is on, so Azure refuses a purge (the next environment's salt names "
            "it anew)"
        )
    return lines
