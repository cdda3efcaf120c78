"""Load a stack's spec from `stacks/Pulumi.<stack>.yaml` or from Pulumi's config values.

Everything a stack holds sits under the `amlkit:` namespace, one key a section
(`amlkit:environment`, `amlkit:online_endpoints`, ...). Endpoints, deployments
and compute clusters are written inline with CLI v2 field names, or as
`{file: path/to/cli-v2.yml, ...overrides}` (paths relative to the stack config);
both go through the same models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .cli_yaml import Kind, read_document, read_yaml
from .errors import ConfigError, Problem, Source, display_path, problems_from_validation
from .stack import StackSpec

NAMESPACE = "amlkit"
SECTIONS: tuple[str, ...] = tuple(StackSpec.model_fields)

OFFLINE_SECRET = "amlkit-offline-secret-value"
"""Stands in for `secure:` values when no secrets provider is at hand (offline plan)."""

# Lists whose entries may be `file:` references, and the kind each file must hold.
_FILE_LISTS: dict[str, Kind] = {
    "compute": "compute",
    "online_endpoints": "online_endpoint",
    "batch_endpoints": "batch_endpoint",
}
_NESTED_DEPLOYMENTS: dict[str, Kind] = {
    "online_endpoints": "online_deployment",
    "batch_endpoints": "batch_deployment",
}

Loc = tuple[str | int, ...]


def stack_file(stacks_dir: Path, stack: str) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def read_stack_config(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file, with `secure:` values stood in for."""
    doc = read_yaml(path)
    shown = display_path(path)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError([Problem(shown, "", "must be a YAML mapping with a `config:` key")])
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([Problem(shown, "config", "must be a mapping of `namespace:key` values")])
    return {str(k): _stand_in_secrets(v) for k, v in config.items()}


def secret_keys(path: Path) -> list[str]:
    """Config keys whose value (or a value inside it) is `secure:` in the stack file."""
    doc = read_yaml(path)
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        return []
    return sorted(str(k) for k, v in config.items() if _has_secure(v))


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def amlkit_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """`amlkit:<section>` values by section; other namespaces are Pulumi's or providers'."""
    prefix = f"{NAMESPACE}:"
    return {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}


def values_from_pulumi_strings(raw: Mapping[str, str]) -> dict[str, Any]:
    """Pulumi passes structured config as JSON strings; plain strings stay strings."""
    out: dict[str, Any] = {}
    for key, text in raw.items():
        try:
            out[key] = json.loads(text)
        except (TypeError, ValueError):
            out[key] = text
    return out


def build_stack_spec(
    values: Mapping[str, Any], *, source: Path, check_paths: bool = True
) -> StackSpec:
    """Validate a stack's `amlkit:` values (file references expanded) into a spec.

    Raises `ConfigError` with one problem a line; never anything else for bad input.
    """
    base = source.parent
    shown = display_path(source)
    problems: list[Problem] = []
    unknown = sorted(set(values) - set(SECTIONS))
    for key in unknown:
        problems.append(
            Problem(
                shown, f"{NAMESPACE}:{key}", f"is not a known section; known: {', '.join(SECTIONS)}"
            )
        )
    raw: dict[str, Any] = {k: values[k] for k in SECTIONS if k in values}
    sources: dict[Loc, Source] = {}
    for section, kind in _FILE_LISTS.items():
        if section not in raw:
            continue
        if not isinstance(raw[section], list):
            problems.append(Problem(shown, f"{NAMESPACE}:{section}", "must be a list"))
            continue
        raw[section] = _expand_list(
            raw[section],
            (section,),
            source,
            kind,
            sources,
            problems,
            _NESTED_DEPLOYMENTS.get(section),
        )
    if problems:
        raise ConfigError(problems)
    try:
        return StackSpec.model_validate(raw, context={"base_dir": base, "check_paths": check_paths})
    except ValidationError as exc:
        raise ConfigError(
            problems_from_validation(exc, raw, root=Source(source), sources=sources)
        ) from None


def load_stack_spec(stacks_dir: Path, stack: str, *, check_paths: bool = True) -> StackSpec:
    """Read and validate `stacks/Pulumi.<stack>.yaml` (secrets stood in for)."""
    path = stack_file(stacks_dir, stack)
    if not path.exists():
        known = sorted(
            p.name.removeprefix("Pulumi.").removesuffix(".yaml")
            for p in stacks_dir.glob("Pulumi.*.yaml")
        )
        raise ConfigError(
            [
                Problem(
                    display_path(path),
                    "",
                    f"no such stack; stacks here: {', '.join(known) or 'none'}",
                )
            ]
        )
    return build_stack_spec(
        amlkit_values(read_stack_config(path)), source=path, check_paths=check_paths
    )


def _expand_list(
    items: list[Any],
    loc: Loc,
    stack_config: Path,
    kind: Kind,
    sources: dict[Loc, Source],
    problems: list[Problem],
    nested: Kind | None,
) -> list[Any]:
    out: list[Any] = []
    for index, item in enumerate(items):
        here = (*loc, index)
        entry = _expand_entry(item, here, stack_config, kind, sources, problems)
        if nested and isinstance(entry, dict) and isinstance(entry.get("deployments"), list):
            entry = {
                **entry,
                "deployments": _expand_list(
                    entry["deployments"],
                    (*here, "deployments"),
                    stack_config,
                    nested,
                    sources,
                    problems,
                    None,
                ),
            }
        out.append(entry)
    return out


def _expand_entry(
    item: Any,
    loc: Loc,
    stack_config: Path,
    kind: Kind,
    sources: dict[Loc, Source],
    problems: list[Problem],
) -> Any:
    """`path.yml` or `{file: path.yml, **overrides}` -> the file's fields, overridden."""
    if isinstance(item, str):
        item = {"file": item}
    if not isinstance(item, dict) or "file" not in item:
        return item
    ref = item["file"]
    if not isinstance(ref, str) or "\x00" in ref:
        problems.append(
            Problem(display_path(stack_config), _loc_text(loc) + ".file", "must be a path")
        )
        return item
    file = (stack_config.parent / ref).resolve()
    try:
        _, doc = read_document(file, kind)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return item
    sources[loc] = Source(file)
    overrides = {k: v for k, v in item.items() if k != "file"}
    for key in overrides:
        sources[(*loc, key)] = Source(stack_config)
    return {**doc, **overrides}


def _loc_text(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _stand_in_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return OFFLINE_SECRET
        return {k: _stand_in_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stand_in_secrets(v) for v in value]
    return value
