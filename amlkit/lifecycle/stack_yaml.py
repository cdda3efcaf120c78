"""Stack files read and written round-trip (ruamel.yaml), so what people wrote stays.

A stack file carries comments that explain each environment, and `secure:` values
that are ciphertext of the stack's secrets provider. PyYAML drops the first and
re-flows everything; ruamel.yaml's round-trip mode keeps comments, key order, quoting
and the `secure:` values byte for byte, so a copy reads like its source and a diff
between them shows only what `amlkit env create` changed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # the shipped stacks' list style
    yaml.width = 4096  # never re-wrap a long description
    return yaml


def load(path: Path) -> CommentedMap:
    """The whole document (a mapping), comments and all."""
    doc = _yaml().load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, CommentedMap):
        raise ValueError(f"{path}: must be a YAML mapping with a `config:` key")
    return doc


def dump(doc: Any) -> str:
    buffer = io.StringIO()
    _yaml().dump(doc, buffer)
    return buffer.getvalue()


def secure_paths(value: Any, path: str = "") -> list[str]:
    """Where `secure:` values sit (`amlkit:monitoring.action_group...`), for the notice
    that they are copied as ciphertext."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return [path]
        return [p for k, v in value.items() for p in secure_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in secure_paths(v, f"{path}[{i}]")]
    return []
