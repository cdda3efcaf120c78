"""Workspaces Azure keeps after deletion, and what frees their names: an Azure ML
workspace (DELETE with `forceToPurge=true`, else soft-deleted for 14 days; Azure ML
"workspace soft deletion") and a Log Analytics workspace (DELETE with `force=true`, else
recoverable for 14 days; Log Analytics REST "Workspaces - Delete", API 2025-07-01).

The stand-in holds the workspaces a test seeds, and for each deleted one whether its
name was released or is still kept: what `amlkit teardown --purge` must achieve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.azure_standin.arm import ArmRefusal

LOG_ANALYTICS_API_VERSION = "2025-07-01"

ML_WORKSPACE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+$",
    re.IGNORECASE,
)
LOG_ANALYTICS = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.OperationalInsights"
    r"/workspaces/[^/]+$",
    re.IGNORECASE,
)


@dataclass
class Workspaces:
    live: set[str] = field(default_factory=set)
    """Resource ids (lower-cased, as ARM compares them) of workspaces that exist."""
    released: set[str] = field(default_factory=set)
    """Deleted for good: the name is free at once."""
    kept: set[str] = field(default_factory=set)
    """Soft-deleted: the name stays taken for 14 days."""

    def seed(self, *ids: str) -> None:
        self.live.update(i.lower() for i in ids)

    def delete(self, path: str, flag: str, value: str | None) -> None:
        key = path.lower()
        if key not in self.live:
            raise ArmRefusal(404, "ResourceNotFound", f"The resource '{path}' was not found.")
        self.live.discard(key)
        if value is not None and value.lower() not in ("true", "false"):
            raise ArmRefusal(400, "InvalidParameter", f"'{flag}' must be true or false.")
        (self.released if value == "true" else self.kept).add(key)
