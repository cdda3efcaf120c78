"""What a stack's exported state (`pulumi stack export`) tells a teardown: which
resources are protected, which online endpoints carry traffic, and which names Azure
keeps after deletion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TRAFFIC_TYPE = "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic"
ML_WORKSPACE_TYPE = "azure-native:machinelearningservices:Workspace"
LOG_ANALYTICS_TYPE = "azure-native:operationalinsights:Workspace"
KEY_VAULT_TYPE = "azure-native:keyvault:Vault"


@dataclass(frozen=True)
class StateResource:
    urn: str
    type: str
    id: str | None
    protect: bool
    outputs: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


def resources(deployment: Mapping[str, Any] | None) -> list[StateResource]:
    """The custom resources of an exported deployment (`{"resources": [...]}`)."""
    found = []
    for raw in (deployment or {}).get("resources") or []:
        if not raw.get("custom") or str(raw.get("type", "")).startswith("pulumi:providers:"):
            continue
        found.append(
            StateResource(
                urn=str(raw["urn"]),
                type=str(raw["type"]),
                id=raw.get("id"),
                protect=bool(raw.get("protect")),
                outputs=raw.get("outputs") or {},
            )
        )
    return found


def protected(state: list[StateResource]) -> list[StateResource]:
    return [r for r in state if r.protect]


def of_type(state: list[StateResource], typ: str) -> list[StateResource]:
    return [r for r in state if r.type == typ]
