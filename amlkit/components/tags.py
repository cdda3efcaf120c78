"""The tags every resource of a stack carries."""

from __future__ import annotations

from collections.abc import Mapping

from amlkit.specs.stack import StackEnvironment


def stack_tags(
    environment: StackEnvironment, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment's tags, plus `environment`, `managed-by` and, for test
    environments, `amlkit-ephemeral` and `amlkit-ttl-hours` (read by `amlkit teardown`)."""
    tags = {**environment.tags, "environment": environment.name, "managed-by": "amlkit"}
    if environment.ephemeral is not None:
        tags |= {
            "amlkit-ephemeral": "true",
            "amlkit-ttl-hours": str(environment.ephemeral.ttl_hours),
        }
    return {**tags, **(extra or {})}
