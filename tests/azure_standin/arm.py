"""What every ARM resource of the stand-in shares: refusals in ARM's error
format, long-running operations, and a stored resource with its provisioning state."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

POLLS_PER_OPERATION = 2
"""Status polls that answer InProgress before an operation succeeds."""


class ArmRefusal(Exception):
    """An error ARM answers with: status, code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Operation:
    id: str
    resource: tuple[str, ...]
    description: str
    commit: Callable[[], None]
    polls_left: int = POLLS_PER_OPERATION
    status: str = "InProgress"


@dataclass
class Resource:
    body: dict[str, Any]
    provisioning: str = "Creating"
    deleting: bool = False

    def with_state(self) -> dict[str, Any]:
        """The body as a GET answers it, with its provisioning state."""
        body = copy.deepcopy(self.body)
        body["properties"] = {**body.get("properties", {}), "provisioningState": self.provisioning}
        return body


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ArmRefusal(400, "BadRequest", message)
