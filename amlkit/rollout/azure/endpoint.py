"""Which online endpoint on Azure a rollout drives, and the error its Azure parts raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from amlkit.specs.naming import Names
from amlkit.specs.stack import StackSpec

from ..sources import RolloutError


class AzureTargetError(RolloutError):
    """Azure answered something a rollout cannot go on with; the message says what.

    A RolloutError: mid-rollout, the engine treats it as a failed gate and writes the
    pre-rollout split back (`on_failure: rollback`); when that write fails too, the state
    file stays `running` and `amlkit rollout abort` takes over once Azure answers again."""


@dataclass(frozen=True)
class AzureEndpoint:
    """Which endpoint: its subscription, resource group, workspace and name."""

    subscription_id: str
    resource_group: str
    workspace: str
    name: str
    kind: Literal["managed", "kubernetes"] = "managed"
    auth_mode: Literal["key", "aml_token", "aad_token"] = "key"

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace}"
        )

    @property
    def id(self) -> str:
        return f"{self.workspace_id}/onlineEndpoints/{self.name}"

    @classmethod
    def of(cls, stack: StackSpec, endpoint: str, subscription_id: str) -> AzureEndpoint:
        """The stack's endpoint, with the physical names the stack program gives it."""
        spec = next((e for e in stack.online_endpoints if e.name == endpoint), None)
        if spec is None:
            known = ", ".join(e.name for e in stack.online_endpoints) or "none"
            raise AzureTargetError(
                f"online endpoint {endpoint!r} is not in the stack (its online endpoints: {known})"
            )
        names = Names(stack.environment)
        return cls(
            subscription_id,
            names.resource_group(),
            stack.workspace.name or names.workspace(),
            spec.name,
            spec.kind,
            spec.auth_mode,
        )
