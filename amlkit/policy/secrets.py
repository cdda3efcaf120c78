"""No credential in plain text, in the stack config or its outputs (rule 21)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    StackValidationArgs,
)

from amlkit.specs.secrets import holds_secret, url_carries_credential

from .base import (
    MANDATORY,
    Anchor,
    Found,
    stack_rule,
)

_SECRET_TEXT = "[secret]"
STACK_OUTPUTS = "amlkit:plan:StackOutputs"
"""The stack's exports as `amlkit plan` records them (secrets as "[secret]")."""


def _plaintext_credentials(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _plaintext_credentials(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _plaintext_credentials(v, f"{path}[{i}]")
    elif isinstance(value, str) and value and value != _SECRET_TEXT:
        leaf = re.split(r"[.\[]", path)[-1].rstrip("]")
        if holds_secret(leaf) or url_carries_credential(value):
            yield path


def stack_config() -> tuple[dict[str, Any], set[str]]:
    """This stack's config and its secret keys, as the Pulumi runtime holds them (the
    engine hands both to the policy pack; `amlkit plan` sets them before the rules run)."""
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    for key, text in raw.items():
        try:
            values[key] = json.loads(text)
        except (TypeError, ValueError, RecursionError):  # text, or nested past Python's limit
            values[key] = text
    secrets = {k for k in values if pulumi.runtime.is_config_secret(k)}
    return values, secrets


@stack_rule(
    name="secrets-not-plaintext",
    description="No config value that is a credential (a key, password, token, secret, "
    "connection string, webhook or service URI, or a URL with a password or token in it) is "
    "stored in plain text, and no stack output carries one in clear.",
    anchor=Anchor("pulumi", "https://www.pulumi.com/docs/iac/concepts/secrets/"),
    fix="store it with `pulumi config set --secret <key> <value>` (a `secure:` value in the "
    "stack file) and export credentials with pulumi.Output.secret",
    level=MANDATORY,
)
def secrets_not_plaintext(args: StackValidationArgs) -> Found:
    values, secrets = stack_config()
    for key, value in sorted(values.items()):
        if key in secrets:
            continue
        for path in _plaintext_credentials(value, key):
            yield f"config {path} holds a credential in plain text", None
    for r in args.resources:
        # Offline only: the engine hands policies secrets unwrapped, so whether an
        # output is secret cannot be seen from a pack; `amlkit plan` marks them.
        if r.resource_type == STACK_OUTPUTS:
            for path in _plaintext_credentials(dict(r.props), "outputs"):
                yield f"stack output {path} carries a credential in clear", r.urn
