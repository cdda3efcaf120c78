"""Load a stack's spec from `stacks/Pulumi.<stack>.yaml` or from Pulumi's config values.

Everything a stack holds sits under the `amlkit:` namespace, one key a section
(`amlkit:environment`, `amlkit:online_endpoints`, ...). Endpoints, deployments
and compute clusters are written inline with CLI v2 field names, or as
`{file: path/to/cli-v2.yml, ...overrides}` (paths relative to the stack config);
both go through the same models.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .assets import relative_path
from .cli_yaml import Kind, read_document, read_yaml
from .errors import ConfigError, Problem, Source, display_path, problems_from_validation
from .namespaces import NAMESPACE as NAMESPACE
from .namespaces import closest_section, namespace_problems
from .stack import StackSpec

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


def repository_root(start: Path) -> Path:
    """The folder local paths of a stack must stay in: the nearest one at or above
    `start` holding `.git` (the repository CI checked out), else the nearest holding
    `Pulumi.yaml` (the project), else `start` itself. Not resolved through symlinks."""
    here = Path(os.path.abspath(start))
    for marker in (".git", "Pulumi.yaml"):
        for folder in (here, *here.parents):
            if (folder / marker).exists():
                return folder
    return here


def amlkit_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """`amlkit:<section>` values by section; other namespaces are Pulumi's or providers'."""
    prefix = f"{NAMESPACE}:"
    return {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}


def values_from_pulumi_strings(raw: Mapping[str, str]) -> dict[str, Any]:
    """Pulumi passes structured config as JSON strings; plain strings stay strings (and so
    does JSON nested too deep to parse, which then fails validation as the wrong type)."""
    out: dict[str, Any] = {}
    for key, text in raw.items():
        try:
            out[key] = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            out[key] = text
    return out


def spec_from_config(
    config: Mapping[str, Any], *, source: Path, check_paths: bool = True
) -> StackSpec:
    """Validate a stack's whole `config:` mapping: every key a `namespace:name` and no
    namespace a typo of `amlkit` (`namespaces`), then the `amlkit:` sections
    (`build_stack_spec`). All problems at once, one a line."""
    problems = namespace_problems(config, display_path(source), SECTIONS)
    try:
        spec = build_stack_spec(amlkit_values(config), source=source, check_paths=check_paths)
    except ConfigError as error:
        raise ConfigError([*problems, *error.problems]) from None
    if problems:
        raise ConfigError(problems)
    return spec


def build_stack_spec(
    values: Mapping[str, Any], *, source: Path, check_paths: bool = True
) -> StackSpec:
    """Validate a stack's `amlkit:` values (file references expanded) into a spec.

    Local paths resolve against the stack file's folder and must stay inside its
    repository (`repository_root`). Raises `ConfigError` with one problem a line; never
    anything else for bad input.
    """
    base = source.parent
    root = repository_root(base)
    shown = display_path(source)
    problems: list[Problem] = []
    unknown = sorted(set(values) - set(SECTIONS))
    for key in unknown:
        guess = closest_section(key, SECTIONS)
        hint = f"did you mean `{NAMESPACE}:{guess}`?" if guess else f"known: {', '.join(SECTIONS)}"
        problems.append(Problem(shown, f"{NAMESPACE}:{key}", f"is not a known section; {hint}"))
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
            _Where(source, root),
            kind,
            sources,
            problems,
            _NESTED_DEPLOYMENTS.get(section),
        )
    if problems:
        raise ConfigError(problems)
    context = {"base_dir": base, "root": root, "check_paths": check_paths}
    try:
        return StackSpec.model_validate(raw, context=context)
    except ValidationError as exc:
        raise ConfigError(
            problems_from_validation(
                exc, raw, root=Source(source), sources=sources, model=StackSpec
            )
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
    return spec_from_config(read_stack_config(path), source=path, check_paths=check_paths)


@dataclass(frozen=True)
class _Where:
    stack_config: Path
    """The stack file: `file:` references are relative to its folder."""
    root: Path
    """The repository they must stay inside."""


def _expand_list(
    items: list[Any],
    loc: Loc,
    where: _Where,
    kind: Kind,
    sources: dict[Loc, Source],
    problems: list[Problem],
    nested: Kind | None,
) -> list[Any]:
    out: list[Any] = []
    for index, item in enumerate(items):
        here = (*loc, index)
        entry = _expand_entry(item, here, where, kind, sources, problems)
        if nested and isinstance(entry, dict) and isinstance(entry.get("deployments"), list):
            entry = {
                **entry,
                "deployments": _expand_list(
                    entry["deployments"],
                    (*here, "deployments"),
                    where,
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
    where: _Where,
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
    shown = display_path(where.stack_config)
    if not isinstance(ref, str) or not ref:
        problems.append(Problem(shown, _loc_text(loc) + ".file", "must be a path"))
        return item
    try:
        file = relative_path(ref, where.stack_config.parent, where.root)
    except ValueError as error:
        problems.append(Problem(shown, _loc_text(loc) + ".file", str(error), repr(ref)))
        return item
    try:
        _, doc = read_document(file, kind, base=where.stack_config.parent)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return item
    sources[loc] = Source(file)
    overrides = {k: v for k, v in item.items() if k != "file"}
    for key in overrides:
        sources[(*loc, key)] = Source(where.stack_config)
    return {**doc, **overrides}


def referenced_files(config: Mapping[str, Any], stack_config: Path) -> list[Path]:
    """The CLI v2 files a stack's `config:` names (`file:` entries), as paths: inputs an
    output must never overwrite. Bad references are left to validation."""
    found: list[Path] = []

    def visit(items: Any, nested: bool) -> None:
        for item in items if isinstance(items, list) else ():
            ref = (
                item
                if isinstance(item, str)
                else item.get("file")
                if isinstance(item, dict)
                else None
            )
            if isinstance(ref, str) and ref and "\x00" not in ref:
                found.append(stack_config.parent / ref)
            if nested and isinstance(item, dict):
                visit(item.get("deployments"), False)

    for section in _FILE_LISTS:
        visit(config.get(f"{NAMESPACE}:{section}"), section in _NESTED_DEPLOYMENTS)
    return found


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
