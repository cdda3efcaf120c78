"""Config problems as one line each: file, field path, value, what is allowed.

Every way a stack config or CLI v2 file can be wrong ends here, as a
`ConfigError` holding `Problem`s, so users never see a traceback.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Tag, ValidationError

from .secrets import holds_secret, url_carries_credential

# Beyond the credential-named fields (`holds_secret`): a public key people may paste a
# private one into, and the blocks whose entries carry secrets.
_HIDDEN_PARTS = {"ssh_key_value", "ssh_settings", "webhook_receivers"}
# amlkit:kubernetes: the extension's TLS material and an existing cluster's kubeconfig.
_HIDDEN_PARTS |= {"ssl_secret", "ssl_cert_pem", "ssl_key_pem", "kubeconfig"}
_MAX_VALUE = 60
_SHOULD = {
    "int_type": "must be a whole number (not true/false, a decimal or quoted text)",
    "int_from_float": "must be a whole number, not a decimal",
    "bool_type": "must be true or false (not 1, 0, yes or quoted text)",
    "float_type": "must be a number",
    "string_type": "must be text (quote it)",
}


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
    model: type[BaseModel] | None = None,
) -> list[Problem]:
    """Turn pydantic's errors into problems that name files and readable paths.

    `model` (the model `raw` was validated as) lets an unknown field name the known one
    it is closest to. The value of an unknown field is never shown (it may be a
    misspelled secret), nor is any value under a field that can hold a credential."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = _data_loc(raw, item["loc"], missing=item["type"] == "missing")
        source, inner, rest = _source_for(loc, root, sources or {})
        path = _readable(raw, loc, inner, len(loc) - len(rest))
        message = _message(item)
        if item["type"] == "extra_forbidden" and model is not None:
            message += _did_you_mean(str(item["loc"][-1]), _fields_at(model, item["loc"][:-1]))
        hidden = item["type"] in ("missing", "extra_forbidden")
        value = None if hidden else _show(item.get("input"), loc)
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
    if kind in _SHOULD:
        return _SHOULD[kind]
    return message.replace("Input should be ", "must be ", 1)


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The field names (CLI v2 spellings) of the model pydantic's `loc` points into."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    for member, _ in _members(current):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return [info.alias or name for name, info in member.model_fields.items()]
    return []


def _members(annotation: Any, tag: str | None = None) -> list[tuple[Any, str | None]]:
    """An annotation's alternatives (a union's members, else itself), None dropped, each
    with the tag pydantic puts in an error's loc for it (`Tag("inline")`, else its name)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        tags = [meta.tag for meta in args[1:] if isinstance(meta, Tag)]
        return _members(args[0], tags[0] if tags else tag)
    if origin in (typing.Union, types.UnionType):
        return [pair for arg in args for pair in _members(arg, tag)]
    if annotation is type(None):
        return []
    return [(annotation, tag or getattr(annotation, "__name__", None))]


def _step(annotation: Any, part: str | int) -> Any:
    """One step of pydantic's error `loc` through a type: a union tag, a field, an item."""
    members = _members(annotation)
    for member, tag in members:
        if isinstance(part, str) and tag == part and len(members) > 1:
            return member
    for member, _ in members:
        origin, args = typing.get_origin(member), typing.get_args(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            fields = {info.alias or name: info for name, info in member.model_fields.items()}
            found = fields.get(part) or member.model_fields.get(part)
            if found is not None:
                return found.annotation
        elif origin in (tuple, list) and isinstance(part, int) and args:
            return args[0]
        elif origin is dict and isinstance(part, str) and len(args) == 2:
            return args[1]
    return None


def _show(value: Any, loc: tuple[str | int, ...]) -> str | None:
    named = [part for part in loc if isinstance(part, str)]
    if any(holds_secret(part) or part in _HIDDEN_PARTS for part in named):
        return "[secret]"
    if isinstance(value, str) and url_carries_credential(value):
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
