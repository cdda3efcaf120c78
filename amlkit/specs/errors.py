"""Config problems as one line each: file, field path, value, what is allowed.

Every way a stack config or CLI v2 file can be wrong ends here, as a
`ConfigError` holding `Problem`s, so users never see a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

_SECRET_FIELDS = {"admin_password", "service_uri"}
# amlkit:kubernetes: the extension's TLS material and an existing cluster's kubeconfig.
_SECRET_FIELDS |= {"ssl_secret", "ssl_cert_pem", "ssl_key_pem", "kubeconfig"}
_MAX_VALUE = 60


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        shown = f" = {self.value}" if self.value is not None else ""
        return _one_line(f"{where}{shown}: {self.message}")


def _one_line(text: str) -> str:
    """Control characters (a key typed with a stray escape) shown escaped, never as line breaks."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


@dataclass
class ConfigError(Exception):
    """One or more problems; `str()` gives one line per problem."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class Source:
    """Where a part of the raw config came from: a file and the path inside it."""

    file: Path
    inner: tuple[str | int, ...] = ()


def display_path(path: Path) -> str:
    """Paths relative to the working directory when they are below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def problems_from_validation(
    error: ValidationError,
    raw: Any,
    *,
    root: Source,
    sources: Mapping[tuple[str | int, ...], Source] | None = None,
) -> list[Problem]:
    """Turn pydantic's errors into problems that name files and readable paths."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = _data_loc(raw, item["loc"], missing=item["type"] == "missing")
        source, inner, rest = _source_for(loc, root, sources or {})
        path = _readable(raw, loc, inner, len(loc) - len(rest))
        message = _message(item)
        value = None if item["type"] == "missing" else _show(item.get("input"), loc)
        problems.append(Problem(display_path(source.file), path, message, value))
    return _dedupe(problems)


def _data_loc(raw: Any, loc: Sequence[str | int], *, missing: bool) -> tuple[str | int, ...]:
    """Drop the tags pydantic adds for unions ('inline', 'function-after[...]')."""
    kept: list[str | int] = []
    node = raw
    for index, part in enumerate(loc):
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list | tuple) and isinstance(part, int) and part < len(node)
        if in_mapping or in_list:
            kept.append(part)
            node = node[part]
        elif missing and index == len(loc) - 1 and isinstance(part, str):
            kept.append(part)  # a missing field: name it
            node = None
    return tuple(kept)


def _source_for(
    loc: tuple[str | int, ...],
    root: Source,
    sources: Mapping[tuple[str | int, ...], Source],
) -> tuple[Source, tuple[str | int, ...], tuple[str | int, ...]]:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in sources:
            src = sources[loc[:cut]]
            if src.file == root.file:
                break  # written in the stack config itself (an override of a file's field)
            return src, src.inner, loc[cut:]
    return root, root.inner, loc


def _readable(
    raw: Any, loc: tuple[str | int, ...], inner: tuple[str | int, ...], start: int
) -> str:
    """`online_endpoints[prod-ep].deployments[blue].instance_count`: names beat indexes."""
    parts: list[str] = [str(p) for p in inner]
    node = raw
    text = ""
    for i, part in enumerate(loc):
        child = _child(node, part)
        if i >= start:
            if isinstance(part, int):
                name = child.get("name") if isinstance(child, Mapping) else None
                text += f"[{name}]" if isinstance(name, str) and name else f"[{part}]"
            else:
                text += ("." if text else "") + str(part)
        node = child
    prefix = ".".join(parts)
    if prefix and text:
        return prefix + ("" if text.startswith("[") else ".") + text
    return prefix or text


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, Mapping):
        return node.get(part)
    if isinstance(node, list | tuple) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _message(item: Mapping[str, Any]) -> str:
    message = str(item["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    kind = item["type"]
    if kind == "extra_forbidden":
        return "is not a known field (check the spelling against Azure ML CLI v2)"
    if kind == "missing":
        return "is required"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping of fields"
    if kind in ("list_type", "tuple_type"):
        return "must be a list"
    if kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        return f"is not allowed; allowed: {expected}"
    if kind == "string_pattern_mismatch":
        return f"does not match {item.get('ctx', {}).get('pattern')}"
    return message


def _show(value: Any, loc: tuple[str | int, ...]) -> str | None:
    if any(part in _SECRET_FIELDS for part in loc):
        return "[secret]"
    if isinstance(value, Mapping | list | tuple):
        return None
    text = repr(value)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    unique = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique
