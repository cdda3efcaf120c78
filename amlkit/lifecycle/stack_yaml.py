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


def set_endpoint_split(
    path: Path,
    index: int,
    traffic: dict[str, int],
    mirror_traffic: dict[str, int],
) -> bool:
    """Write an online endpoint's `traffic` and `mirror_traffic` into its stack file, in
    place and round-trip (comments, order and quoting kept); whether the file changed.

    `index` is the endpoint's place in `amlkit:online_endpoints`; an entry that names a
    CLI v2 file (`file:` or a bare path) gets the split as overrides beside it, which the
    loader applies over the file's. Deployments already named keep their entry (set to
    the live share, 0 included); others appear only with a share; `mirror_traffic` is
    removed when nothing is mirrored."""
    doc = load(path)
    config = doc.get("config")
    endpoints = config.get("amlkit:online_endpoints") if isinstance(config, dict) else None
    if not isinstance(endpoints, list) or not 0 <= index < len(endpoints):
        raise ValueError(f"{path}: no amlkit:online_endpoints entry {index}")
    item = endpoints[index]
    if isinstance(item, str):
        item = endpoints[index] = CommentedMap({"file": item})
    before = dump(doc)
    _set_shares(item, "traffic", traffic)
    if any(mirror_traffic.values()):
        _set_shares(item, "mirror_traffic", mirror_traffic)
    elif "mirror_traffic" in item:
        del item["mirror_traffic"]
    after = dump(doc)
    if after == before:
        return False
    path.write_text(after, encoding="utf-8")
    return True


def _set_shares(item: Any, key: str, shares: dict[str, int]) -> None:
    current = item.get(key)
    if not isinstance(current, dict):
        item[key] = CommentedMap((k, v) for k, v in shares.items() if v)
        return
    for name in list(current):
        current[name] = shares.get(name, 0)
    for name, value in shares.items():
        if value and name not in current:
            current[name] = value
