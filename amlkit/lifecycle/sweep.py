"""`amlkit teardown --expired`: every ephemeral stack past its expiry, found in the
stack files (`environment.ephemeral.expires_at`) and in the backend (stacks tagged
`amlkit:ephemeral=true` with `amlkit:expires-at`), each torn down in turn."""

from __future__ import annotations

from datetime import datetime

from pulumi.automation import LocalWorkspace

from amlkit.specs.project import Project

from .listing import list_environments
from .pr_environment import TAG_EPHEMERAL, TAG_EXPIRES_AT


def expired_stacks(ws: LocalWorkspace, project: Project, now: datetime) -> list[str]:
    """Names of the expired ephemeral stacks, files first, then the backend's, each once."""
    found = [e.stack for e in list_environments(project) if e.ephemeral and e.expired(now)]
    for summary in ws.list_stacks():
        name = summary.name.rsplit("/", 1)[-1]  # Pulumi Cloud may qualify it: org/project/stack
        if name in found:
            continue
        tags = ws.list_tags(name)
        if tags.get(TAG_EPHEMERAL) != "true":
            continue
        expires = _parse(tags.get(TAG_EXPIRES_AT))
        if expires is not None and now >= expires:
            found.append(name)
    return found


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
