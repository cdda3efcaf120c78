"""Physical Azure names, from one place that knows each resource's rules.

Names are deterministic (the same stack config gives the same names on every
run), carry the environment name, and respect Azure's length and character
rules (Azure's "naming rules and restrictions" doc). Storage accounts, key
vaults and registries are globally unique, so they end in a six-character hash
of the resource group, the region and the environment's salt; the hash is never
cut, however long the environment name: the readable part gives way instead.

Azure keeps some names after deletion: a key vault's for up to 90 days (soft
delete, purge protection on), a workspace's and a Log Analytics workspace's for
14 days. An environment that is created, destroyed and created again (a test
environment per pull request) needs new names each time: `environment.salt`,
set once per creation (`amlkit env create` sets it), goes into the hash and
into the workspace and Log Analytics names.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

PROJECT = "amlkit"
SUFFIX_LENGTH = 6


class NamedEnvironment(Protocol):
    """What names depend on (`StackEnvironment` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def resource_group(self) -> str | None: ...
    @property
    def salt(self) -> str | None: ...


def _clip(name: str, limit: int) -> str:
    return name[:limit].rstrip("-_.")


def _with_suffix(readable: str, suffix: str, limit: int, separator: str = "") -> str:
    """`readable` cut to leave room for the whole suffix, then the suffix."""
    room = limit - len(suffix) - len(separator)
    return f"{_clip(readable, room)}{separator}{suffix}"


@dataclass(frozen=True)
class Names:
    """Names for one environment's resources."""

    environment: NamedEnvironment

    @property
    def env(self) -> str:
        return self.environment.name

    @property
    def suffix(self) -> str:
        """Six hex characters, stable for this resource group, region and salt."""
        seed = f"{PROJECT}/{self.resource_group()}/{self.environment.location}"
        if self.environment.salt:
            seed += f"/{self.environment.salt}"
        return hashlib.sha256(seed.encode()).hexdigest()[:SUFFIX_LENGTH]

    def _salted(self, name: str) -> str:
        return f"{name}-{self.environment.salt}" if self.environment.salt else name

    def resource_group(self) -> str:
        # 1-90: letters, digits, underscores, hyphens, periods and parentheses.
        return self.environment.resource_group or f"rg-{PROJECT}-{self.env}"

    def workspace(self) -> str:
        # 3-33: alphanumerics, hyphens and underscores. Kept 14 days after deletion.
        return _clip(self._salted(f"mlw-{PROJECT}-{self.env}"), 33)

    def storage_account(self) -> str:
        # 3-24 lower-case letters and digits, globally unique.
        return _with_suffix(f"st{PROJECT}{self.env}", self.suffix, 24)

    def key_vault(self) -> str:
        # 3-24 letters, digits and hyphens, a letter first, globally unique;
        # kept up to 90 days after deletion.
        return _with_suffix(f"kv-{PROJECT}-{self.env}", self.suffix, 24, "-")

    def container_registry(self) -> str:
        # 5-50 alphanumerics, globally unique.
        return _with_suffix(f"cr{PROJECT}{self.env}", self.suffix, 50)

    def log_analytics(self) -> str:
        # 4-63: alphanumerics and hyphens. Kept 14 days after deletion.
        return _clip(self._salted(f"log-{PROJECT}-{self.env}"), 63)

    def app_insights(self) -> str:
        return _clip(f"appi-{PROJECT}-{self.env}", 255)

    def identity(self, name: str) -> str:
        return _clip(f"id-{PROJECT}-{self.env}-{name}", 128)

    def action_group(self) -> str:
        return _clip(f"ag-{PROJECT}-{self.env}", 260)

    def kubernetes_cluster(self) -> str:
        # AKS: 1-63 letters, digits, hyphens and underscores; also its DNS prefix, which
        # takes 1-54 letters, digits and hyphens, starting and ending alphanumeric.
        return _clip(f"aks-{PROJECT}-{self.env}", 54)

    def asset_container(self) -> str:
        # Blob containers: 3-63 lower-case letters, digits and hyphens.
        return "amlkit-assets"

    def datastore(self) -> str:
        # Datastore names: letters, digits and underscores.
        return "amlkit_assets"

    def alert(self, scope: str, metric: str) -> str:
        return _clip(f"alert-{scope}-{_kebab(metric)}", 260)

    def diagnostic_setting(self, target: str) -> str:
        return _clip(f"diag-{target}-to-log", 260)


def _kebab(text: str) -> str:
    text = re.sub(r"(?<!^)(?=[A-Z])", "-", text).lower()
    return re.sub(r"[^a-z0-9-]+", "-", text).strip("-")
