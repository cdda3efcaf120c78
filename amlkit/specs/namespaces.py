"""Which keys may sit under a stack file's `config:`.

Pulumi config keys are `<namespace>:<name>`. amlkit's own are `amlkit:<section>`;
other namespaces belong to Pulumi (`pulumi:tags`) and providers (`azure-native:location`)
and pass untouched. A namespace that is almost `amlkit` (`AMLKIT`, `amlkita`, `amlkt`)
is a typo that would drop a whole section silently (its defaults would apply), so it
is refused with the key it was probably meant to be.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from .errors import Problem

NAMESPACE = "amlkit"
_NEAR = 0.75
"""How close to `amlkit` a namespace must be to count as a typo of it: `amlkita`, `amlkt`
and `aml-kit` are (0.9), `aml` (0.67), `azure` and `azure-native` are not."""


def closest_section(name: str, sections: Sequence[str]) -> str | None:
    """The section `name` most likely means (case and small typos forgiven), if any."""
    lowered = {s.lower(): s for s in sections}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _near_amlkit(namespace: str) -> bool:
    ratio = difflib.SequenceMatcher(None, namespace.lower(), NAMESPACE).ratio()
    return namespace != NAMESPACE and ratio >= _NEAR


def namespace_problems(keys: Iterable[str], shown: str, sections: Sequence[str]) -> list[Problem]:
    """A problem for each key that is not `namespace:name`, or whose namespace looks like a
    typo of `amlkit`. Keys in `amlkit:` itself are checked against `sections` elsewhere."""
    problems: list[Problem] = []
    for key in keys:
        namespace, colon, name = key.partition(":")
        if not colon or not namespace or not name:
            guess = closest_section(key, sections)
            hint = f"; did you mean `{NAMESPACE}:{guess}`?" if guess else ""
            problems.append(Problem(shown, key, f"is not a `namespace:name` config key{hint}"))
        elif _near_amlkit(namespace):
            guess = closest_section(name, sections)
            hint = f"`{NAMESPACE}:{guess}`" if guess else f"a key in `{NAMESPACE}:`"
            problems.append(
                Problem(
                    shown,
                    key,
                    f"namespace {namespace!r} is not amlkit's (`{NAMESPACE}:`, lower case): "
                    f"this section would be ignored; did you mean {hint}?",
                )
            )
    return problems
