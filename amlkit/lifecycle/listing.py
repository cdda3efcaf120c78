"""What `amlkit env ls` shows: every stack of the project with its kind and expiry.

Read from the stack files alone (no Pulumi CLI, no backend): a test environment's file
says when it expires. A file that does not validate is listed with its problem, so one
bad file never hides the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from amlkit.specs.errors import ConfigError
from amlkit.specs.project import Project


@dataclass(frozen=True)
class Listed:
    stack: str
    environment: str | None
    ephemeral: bool
    expires_at: datetime | None
    source: str | None
    pull_request: int | None
    problem: str | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def list_environments(project: Project) -> list[Listed]:
    listed = []
    for stack in project.stacks():
        try:
            spec = project.load_spec(stack)
        except ConfigError as error:
            listed.append(
                Listed(stack, None, False, None, None, None, problem=str(error.problems[0]))
            )
            continue
        env = spec.environment
        ephemeral = env.ephemeral
        listed.append(
            Listed(
                stack=stack,
                environment=env.name,
                ephemeral=ephemeral is not None,
                expires_at=ephemeral.expires_at if ephemeral else None,
                source=ephemeral.source if ephemeral else None,
                pull_request=ephemeral.pull_request if ephemeral else None,
            )
        )
    return listed


def describe_expiry(expires_at: datetime | None, now: datetime) -> str:
    """`in 47h`, `expired 3h ago`, or `never`."""
    if expires_at is None:
        return "never"
    hours = (expires_at - now).total_seconds() / 3600
    if hours <= 0:
        return f"expired {_span(-hours)} ago"
    return f"in {_span(hours)}"


def _span(hours: float) -> str:
    if hours < 1:
        return f"{max(int(hours * 60), 1)}m"
    if hours < 72:
        return f"{int(hours)}h"
    return f"{int(hours // 24)}d"
