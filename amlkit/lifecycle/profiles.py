"""Downsizing profiles for test environments: the same resources, smaller and cheaper.

A profile changes sizes and counts, never what exists: every endpoint, deployment,
cluster and identity of the source stays, so the environment still tests the same
wiring. Profiles apply to the stack file's mappings as they are written (a
deployment given as a CLI v2 file gets the change as an override beside `file:`).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Entry = MutableMapping[str, Any]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    online_instances: int
    """Instances of every online deployment; its autoscale is dropped (Azure's floor is 1)."""
    cluster_max_instances: int
    """Ceiling of every compute cluster; the floor goes to 0, so idle clusters cost nothing."""
    cluster_tier: str
    """`low_priority`: Azure's cheaper, preemptible nodes, enough for a test run."""
    batch_instances: int
    """Nodes of every batch deployment (at most the cluster's ceiling)."""
    registry_sku: str
    """Registry SKU, unless the source needs Premium (a private registry)."""
    log_retention_days: int
    """Log Analytics retention; 30 days is Azure's minimum."""


PROFILES: dict[str, Profile] = {
    "small": Profile(
        name="small",
        description="1 instance per online deployment (no autoscale), clusters 0-1 "
        "low-priority nodes, batch on 1 node, Basic registry unless private, 30 days of logs",
        online_instances=1,
        cluster_max_instances=1,
        cluster_tier="low_priority",
        batch_instances=1,
        registry_sku="Basic",
        log_retention_days=30,
    )
}


def apply_profile(
    config: Entry,
    profile: Profile,
    as_entry: Callable[[Any], Entry | None],
    pipelines: frozenset[tuple[int, int]] = frozenset(),
) -> list[str]:
    """Change the stack file's `config:` mapping in place; return what changed, one line
    each. `as_entry` turns a list item into a mapping that can take overrides (a bare
    `path.yml` becomes `{file: path.yml}`); it returns None for an item that is not one.
    `pipelines`: (endpoint, deployment) indexes of pipeline-component batch deployments,
    which have no instance count (their steps run on the cluster, whose ceiling the
    profile lowers)."""
    changes: list[str] = []
    for endpoint in config.get("amlkit:online_endpoints") or []:
        for index, item in enumerate(endpoint.get("deployments") or []):
            deployment = as_entry(item)
            if deployment is None:
                continue
            endpoint["deployments"][index] = deployment
            if deployment.get("autoscale") is not None:
                deployment["autoscale"] = None
                changes.append(f"online deployment {_label(deployment)}: autoscale off")
            deployment["instance_count"] = profile.online_instances
    for cluster in config.get("amlkit:compute") or []:
        entry = as_entry(cluster)
        if entry is None:
            continue
        entry["min_instances"] = 0
        entry["max_instances"] = min(
            int(entry.get("max_instances") or profile.cluster_max_instances),
            profile.cluster_max_instances,
        )
        entry["tier"] = profile.cluster_tier
    for e_index, endpoint in enumerate(config.get("amlkit:batch_endpoints") or []):
        for index, item in enumerate(endpoint.get("deployments") or []):
            deployment = as_entry(item)
            if deployment is None or (e_index, index) in pipelines:
                continue
            endpoint["deployments"][index] = deployment
            resources = deployment.get("resources")
            if isinstance(resources, MutableMapping):
                resources["instance_count"] = profile.batch_instances
            else:
                # Beside `file:`, this replaces the file's `resources` as a whole.
                deployment["resources"] = {"instance_count": profile.batch_instances}
    workspace = config.get("amlkit:workspace")
    if isinstance(workspace, MutableMapping):
        registry = workspace.get("container_registry")
        if isinstance(registry, MutableMapping) and registry.get("public_network_access") != (
            "disabled"
        ):
            registry["sku"] = profile.registry_sku
        logs = workspace.get("log_analytics")
        if isinstance(logs, MutableMapping):
            logs["retention_in_days"] = profile.log_retention_days
    changes.insert(0, f"profile {profile.name}: {profile.description}")
    return changes


def _label(entry: Entry) -> str:
    return str(entry.get("name") or entry.get("file") or "?")
