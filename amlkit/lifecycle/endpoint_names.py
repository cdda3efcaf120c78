"""Endpoint names for a copy of a stack: valid for Azure and unique in the region.

Online and batch endpoint names share one namespace per Azure region, across every
subscription (they form the scoring host `<name>.<region>.inference.ml.azure.com`),
and follow `^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`, 3 to 32 characters. A pull
request's copy of `amlkit-dev-score` must differ from the source's, from every other
pull request's, and from the same pull request's previous environment (a name a
deleted endpoint held may still resolve for a while). So the source environment's
token gives way to the new environment's name (`amlkit-pr123-score`, or the name is
extended with it), and the creation's salt ends it: `amlkit-pr123-score-1a2b3c`. The
salt is never cut; the readable part is, as the naming helper does for storage names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from amlkit.specs.types import ENDPOINT_NAME_PATTERN

MAX_LENGTH = 32
_VALID = re.compile(ENDPOINT_NAME_PATTERN)


def rename_endpoints(
    names: Iterable[str], *, source_env: str, env: str, salt: str
) -> dict[str, str]:
    """New names for `names` (online and batch together: one namespace), by old name."""
    renamed: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        new = _unique(_readable(name, source_env, env), salt, taken)
        taken.add(new.lower())
        renamed[name] = new
    return renamed


def _readable(name: str, source_env: str, env: str) -> str:
    tokens = name.split("-")
    if source_env.lower() in (t.lower() for t in tokens):
        return "-".join(env if t.lower() == source_env.lower() else t for t in tokens)
    return f"{name}-{env}"


def _unique(readable: str, salt: str, taken: set[str]) -> str:
    for extra in ("", *(str(i) for i in range(2, 100))):
        suffix = f"{extra}-{salt}" if extra else f"-{salt}"
        head = readable[: MAX_LENGTH - len(suffix)].rstrip("-")
        candidate = f"{head}{suffix}"
        if candidate.lower() not in taken:
            if not _VALID.match(candidate) or not 3 <= len(candidate) <= MAX_LENGTH:
                raise ValueError(f"cannot make a valid endpoint name from {readable!r}")
            return candidate
    raise ValueError(f"cannot make a unique endpoint name from {readable!r}")
