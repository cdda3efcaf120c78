"""The base every spec model shares, and small helpers for CLI v2 enums.

Specs are plain, frozen values: what a stack config or a CLI v2 YAML file says,
validated once. Field names and defaults are Azure ML CLI v2's
(`../shared/reference/aml-yaml-fields.md`), so a team's existing YAML loads as it is.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Spec(BaseModel):
    """Frozen, strict about unknown fields, and populated by CLI v2 field names."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        str_strip_whitespace=True,
        validate_default=True,
        # Field docstrings become schema descriptions: `amlkit config schema` carries
        # them to editors, which show them on hover.
        use_attribute_docstrings=True,
    )


def _lower(value: Any) -> Any:
    """CLI v2 enums are case-insensitive (`auth_mode: Key` loads in `az ml`)."""
    return value.lower() if isinstance(value, str) else value


def _yaml_string(value: Any) -> Any:
    """YAML turns `version: 2` into an int; CLI v2 treats such scalars as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


LowerCase = BeforeValidator(_lower)
"""Annotate a `Literal[...]` of lower-case values so that `Key` matches `key`."""

ScalarString = Annotated[str, BeforeValidator(_yaml_string)]
"""A string that YAML may have read as a number (`version: 2`)."""


def schema_stem(schema: Any) -> str | None:
    """The kind a `$schema` URL names: `.../managedOnlineDeployment.schema.json` ->
    `managedOnlineDeployment`; None when there is no `$schema` string."""
    if not isinstance(schema, str):
        return None
    return schema.rstrip("/ ").rsplit("/", 1)[-1].removesuffix(".json").removesuffix(".schema")
