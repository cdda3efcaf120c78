"""Physical Azure names: within Azure's limits, the uniqueness hash never cut, and new
names for an environment created again (its salt)."""

from __future__ import annotations

import re

import pytest

from amlkit.specs import StackEnvironment
from amlkit.specs.naming import SUFFIX_LENGTH, Names

LIMITS = {
    # name: (pattern of Azure's rules, max length)
    "storage_account": (r"^[a-z0-9]{3,24}$", 24),
    "key_vault": (r"^[a-zA-Z][-a-zA-Z0-9]{1,22}[a-zA-Z0-9]$", 24),
    "container_registry": (r"^[a-zA-Z0-9]{5,50}$", 50),
    "workspace": (r"^[a-zA-Z0-9][-\w]{2,32}$", 33),
    "log_analytics": (r"^[a-zA-Z0-9][-a-zA-Z0-9]{2,61}[a-zA-Z0-9]$", 63),
}


def _env(name: str, salt: str | None = None) -> StackEnvironment:
    return StackEnvironment(name=name, location="westeurope", salt=salt)


@pytest.mark.parametrize("env_name", ["dev", "staging", "pr123", "abcdefghijkl"])
@pytest.mark.parametrize("salt", [None, "k3x9q2a1"])
def test_names_follow_azure_rules_and_keep_the_whole_hash(env_name: str, salt: str | None) -> None:
    names = Names(_env(env_name, salt))
    for kind, (pattern, limit) in LIMITS.items():
        value = getattr(names, kind)()
        assert re.match(pattern, value), (kind, value)
        assert len(value) <= limit
    for kind in ("storage_account", "key_vault", "container_registry"):
        value = getattr(names, kind)()
        assert value.endswith(names.suffix), (kind, value)
    assert len(names.suffix) == SUFFIX_LENGTH


def test_a_long_environment_name_cuts_the_readable_part_not_the_hash() -> None:
    names = Names(_env("abcdefghijkl"))
    assert names.key_vault() == f"kv-amlkit-abcdefg-{names.suffix}"
    assert names.storage_account() == f"stamlkitabcdefghij{names.suffix}"


def test_names_are_stable_for_the_same_config() -> None:
    assert Names(_env("dev")).key_vault() == Names(_env("dev")).key_vault()
    # The shipped stacks' names, as deployed before salts existed.
    assert Names(_env("dev")).workspace() == "mlw-amlkit-dev"
    assert Names(_env("dev")).log_analytics() == "log-amlkit-dev"


def test_a_salt_renews_every_name_azure_keeps_after_deletion() -> None:
    first, again = Names(_env("pr123", "aaaa")), Names(_env("pr123", "bbbb"))
    for kind in ("key_vault", "workspace", "log_analytics", "storage_account"):
        assert getattr(first, kind)() != getattr(again, kind)(), kind
    assert first.workspace() == "mlw-amlkit-pr123-aaaa"
