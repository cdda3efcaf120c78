"""Which policy pack config (levels and settings per rule) a stack is checked with."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationInfo, field_validator

from .assets import resolve_local_path
from .base import Spec
from .loader import load_json


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
        path = resolve_local_path(value, info, "file")
        context = info.context or {}
        checked = "base_dir" in context and context.get("check_paths", True)
        # Read now, strictly (loader), so a broken pack config is a config problem.
        if checked and not isinstance(load_json(Path(path)), dict):
            raise ValueError(f"{path} must be a JSON object of rule -> level")
        return path
