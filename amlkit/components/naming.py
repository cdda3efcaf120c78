"""Physical Azure names, from one place that knows each resource's rules.

Names are deterministic (the same stack config gives the same names on every
run), carry the environment name, and respect Azure's limits. Storage accounts,
key vaults and registries are globally unique, so they end in a short hash of
the environment's resource group and region; set `environment.resource_group`
to move a stack to a fresh set of global names.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from amlkit.specs.stack import StackEnvironment

PROJECT = "amlkit"


def _clip(name: str, limit: int) -> str:
    return name[:limit].rstrip("-_.")


@dataclass(frozen=True)
class Names:
    """Names for one environment's resources. Lengths follow Azure's naming-rules doc."""

    environment: StackEnvironment

    @property
    def env(self) -> str:
        return self.environment.name

    @property
    def suffix(self) -> str:
        """Six hex characters, stable for this resource group and region."""
        seed = f"{PROJECT}/{self.resource_group()}/{self.environment.location}"
        return hashlib.sha256(seed.encode()).hexdigest()[:6]

    def resource_group(self) -> str:
        return self.environment.resource_group or f"rg-{PROJECT}-{self.env}"

    def workspace(self) -> str:
        # 3-33: alphanumerics, hyphens and underscores.
        return _clip(f"mlw-{PROJECT}-{self.env}", 33)

    def storage_account(self) -> str:
        # 3-24 lower-case letters and digits, globally unique.
        return f"st{PROJECT}{self.env}{self.suffix}"[:24]

    def key_vault(self) -> str:
        # 3-24 letters, digits and hyphens, a letter first, globally unique.
        return _clip(f"kv-{PROJECT}-{self.env}-{self.suffix}", 24)

    def container_registry(self) -> str:
        # 5-50 alphanumerics, globally unique.
        return f"cr{PROJECT}{self.env}{self.suffix}"[:50]

    def log_analytics(self) -> str:
        return _clip(f"log-{PROJECT}-{self.env}", 63)

    def app_insights(self) -> str:
        return _clip(f"appi-{PROJECT}-{self.env}", 255)

    def identity(self, name: str) -> str:
        return _clip(f"id-{PROJECT}-{self.env}-{name}", 128)

    def action_group(self) -> str:
        return _clip(f"ag-{PROJECT}-{self.env}", 260)

    def asset_container(self) -> str:
        # Blob containers: 3-63 lower-case letters, digits and hyphens.
        return "amlkit-assets"

    def datastore(self) -> str:
        # Datastore names: letters, digits and underscores.
        return "amlkit_assets"

    def autoscale(self, endpoint: str, deployment: str) -> str:
        return _clip(f"autoscale-{endpoint}-{deployment}", 260)

    def alert(self, scope: str, metric: str) -> str:
        return _clip(f"alert-{scope}-{_kebab(metric)}", 260)

    def diagnostic_setting(self, target: str) -> str:
        return _clip(f"diag-{target}-to-log", 260)


def _kebab(text: str) -> str:
    text = re.sub(r"(?<!^)(?=[A-Z])", "-", text).lower()
    return re.sub(r"[^a-z0-9-]+", "-", text).strip("-")
