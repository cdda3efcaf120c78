"""What amlkit's dynamic providers share: where ARM is, how to sign in, and the
writable part of a resource Azure returned.

A dynamic provider writes what azure-native cannot order for us (an online
endpoint's traffic, a batch endpoint's default deployment): it GETs the
resource, changes one field in the body Azure returned and PUTs it back, as
`az ml ... update` does, because these endpoints' ARM PATCH takes only tags and
identity.

Pulumi pickles a provider object (with dill) into the stack's state and
unpickles it in its dynamic-provider process: it holds two plain values, never a
live client; clients and credentials are made per call. The class is found by
reference, so `components` must be importable there (it is: `pip install -e .`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from pulumi.dynamic import ResourceProvider

from .arm_client import PUBLIC_CLOUD, ArmClient

ARM_ENDPOINT_VARIABLE = "AMLKIT_ARM_ENDPOINT"
"""Set it for a sovereign cloud (e.g. https://management.chinacloudapi.cn); default: public Azure."""

# What ARM computes for every resource: never sent back in a PUT.
_READ_ONLY_TOP = ("id", "name", "type", "systemData")


def default_credential() -> TokenCredential:
    """azure-identity's chain: environment, workload identity, managed identity, Azure CLI..."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


class ArmProvider(ResourceProvider):
    """A dynamic provider that talks to ARM with a client made per operation."""

    def __init__(
        self,
        arm_endpoint: str | None = None,
        credential: Callable[[], TokenCredential] | None = None,
    ) -> None:
        self.arm_endpoint = arm_endpoint
        """Default: $AMLKIT_ARM_ENDPOINT, else https://management.azure.com."""
        self.credential = credential
        """A factory, called per operation; default: DefaultAzureCredential."""

    def _client(self) -> ArmClient:
        base_url = self.arm_endpoint or os.environ.get(ARM_ENDPOINT_VARIABLE) or PUBLIC_CLOUD
        return ArmClient((self.credential or default_credential)(), base_url)


# Inputs of an endpoint provider that name the endpoint: another endpoint is another resource.
ENDPOINT_TARGET = ("workspaceId", "endpointName")
# What ARM computes on an online or batch endpoint: never sent back in a PUT.
ENDPOINT_READ_ONLY_PROPERTIES = ("provisioningState", "scoringUri", "swaggerUri")


def writable_body(
    resource: Mapping[str, Any], read_only_properties: Iterable[str], **properties: Any
) -> dict[str, Any]:
    """The resource as Azure returned it, writable fields only, with `properties` set."""
    read_only = set(read_only_properties)
    body = {k: v for k, v in resource.items() if k not in _READ_ONLY_TOP}
    kept = {k: v for k, v in (resource.get("properties") or {}).items() if k not in read_only}
    body["properties"] = {**kept, **properties}
    identity = resource.get("identity")
    if isinstance(identity, dict):
        # principalId and tenantId are Azure's; a user-assigned identity is named, not described.
        writable = {"type": identity.get("type")}
        if identity.get("userAssignedIdentities"):
            writable["userAssignedIdentities"] = {i: {} for i in identity["userAssignedIdentities"]}
        body["identity"] = writable
    return body
