"""Which policy pack config (levels and settings per rule) a stack is checked with."""

from __future__ import annotations

from pydantic import ValidationInfo, field_validator

from .assets import resolve_local_path
from .base import Spec


class PolicySpec(Spec):
    """`amlkit:policy`: the stack's policy level.

    `config` is a policy pack config file, relative to the stack file, in the format of
    `pulumi preview --policy-pack policy --policy-pack-config <file>`; the repository
    ships `policy/config/{dev,staging,prod}.json`. Default: none, so every rule runs at
    its own default level (mandatory, or advisory for rules 17, 24 and 25).
    """

    config: str | None = None

    @field_validator("config")
    @classmethod
    def _existing_json(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.endswith(".json"):
            raise ValueError(f"{value!r} is not a .json policy pack config")
        return resolve_local_path(value, info)
