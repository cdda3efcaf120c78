"""Every file amlkit reads as input, read strictly and within bounds.

Stack configs, CLI v2 files, `Pulumi.yaml`, policy pack configs and plan files
(`--previous`) all come through here, so one hostile or broken file fails the
same way everywhere: a `ConfigError` naming the file (and line), never a
traceback, a hang or a memory blow-up.

- Only regular files are read (no folders, devices such as /dev/zero, FIFOs or
  sockets), opened without blocking and read up to a size cap.
- YAML is PyYAML's safe loader with YAML 1.2's core schema for plain scalars
  (`yes`, `on`, `1:30`, `0777` and dates stay strings, as Pulumi's YAML parser
  reads them), a duplicate key is an error naming both lines, non-string keys
  are refused, and anchors and aliases are allowed but bounded: the document as
  expanded may hold at most `MAX_NODES` nodes and nest `MAX_DEPTH` levels (a
  "billion laughs" file fails at once, small), and an alias may not contain itself.
- JSON may nest at most `MAX_DEPTH` levels and hold at most `MAX_JSON_VALUES`
  values, with no duplicate keys and no NaN or Infinity.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import stat
from collections import OrderedDict
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import ConfigError, Problem, display_path

MAX_CONFIG_BYTES = 512 << 10
"""Stack configs, CLI v2 files, Pulumi.yaml, policy pack and conda files: 512 KiB, about
20,000 lines (the shipped stacks are under 5 KiB). Pure-Python YAML parses it in a few
seconds, which keeps `plan` on any input well under its 30 s bound."""
MAX_PLAN_BYTES = 16 << 20
"""Plan JSON (`--previous`): 16 MiB, about 10,000 resources (a 57-resource plan is 80 KiB)."""
MAX_DEPTH = 64
"""Nesting levels of a document, aliases expanded. A stack config nests about 8."""
MAX_NODES = 100_000
"""Nodes of a YAML document, aliases expanded (the shipped stacks hold under 500)."""
MAX_JSON_VALUES = 1_000_000
"""Values (objects, arrays, scalars) of a JSON document."""

_O_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def _fail(path: Path, message: str, where: str = "") -> ConfigError:
    return ConfigError([Problem(display_path(path), where, message)])


def _size(count: int) -> str:
    return f"{count / (1 << 20):.0f} MiB" if count >= 1 << 20 else f"{count // 1024} KiB"


def read_bytes(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or a ConfigError.

    The file is opened non-blocking (a FIFO would otherwise wait for a writer) and
    checked to be a regular file before anything is read; at most `limit` + 1 bytes
    are ever read, so a file that grows while read cannot exhaust memory either."""
    try:
        fd = os.open(path, _O_FLAGS)
    except FileNotFoundError:
        raise _fail(path, "file not found") from None
    except IsADirectoryError:
        raise _fail(path, "is a folder, not a file") from None
    except OSError as error:
        raise _fail(path, f"cannot be read: {error.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise _fail(path, "is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise _fail(
                path, "is not a regular file (a device, FIFO or socket); amlkit reads only files"
            )
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise _fail(path, f"is larger than {_size(limit)}, the limit for this kind of file")
        return b"".join(chunks)
    except OSError as error:
        raise _fail(path, f"cannot be read: {error.strerror}") from None
    finally:
        os.close(fd)


def read_text(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> str:
    """`read_bytes` decoded as UTF-8 (a BOM is dropped); other encodings are refused."""
    data = read_bytes(path, limit=limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _fail(path, f"is not UTF-8 text (byte {error.start})") from None


# --- YAML -------------------------------------------------------------------------------

# A leading zero (`0777`) is octal in YAML 1.1 and decimal in 1.2: a string here, so
# neither reading is guessed.
_INT = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(  # a point or an exponent: digits alone are an integer (or text)
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, strict: YAML 1.2 core scalars, unique string keys, bounded
    aliases. Use through `parse_yaml`, which turns its errors into problems."""

    # Only YAML 1.2's core schema resolves plain scalars: everything else is a string.
    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    # Only the JSON-like types: no !!binary (bytes), !!timestamp, !!set, !!omap, !!pairs.
    yaml_constructors = {
        tag: constructor
        for tag, constructor in SafeConstructor.yaml_constructors.items()
        if tag
        in {
            None,  # any other tag: an error naming it
            "tag:yaml.org,2002:null",
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:str",
            "tag:yaml.org,2002:seq",
            "tag:yaml.org,2002:map",
        }
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._extent: dict[int, tuple[int, int]] = {}
        """id(node) -> (nodes, levels) of the node with its aliases expanded."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            anchor = self.anchors.get(event.anchor)
            if anchor is not None and id(anchor) not in self._extent:
                raise ComposerError(
                    None,
                    None,
                    f"alias *{event.anchor} refers to a node that contains it",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ComposerError(
                None,
                None,
                f"nests deeper than {MAX_DEPTH} levels",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        node = super().compose_node(parent, index)
        self._depth -= 1
        if node is not None:
            self._measure(node)
        return node

    def _measure(self, node: Node) -> None:
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        extents = [self._extent[id(child)] for child in children]
        nodes = 1 + sum(n for n, _ in extents)
        levels = 1 + max((d for _, d in extents), default=0)
        self._extent[id(node)] = (nodes, levels)
        if nodes > MAX_NODES:
            raise ComposerError(
                None,
                None,
                f"expands to more than {MAX_NODES:,} nodes (anchors and aliases are "
                "expanded); a config this large is a mistake or an attack",
                node.start_mark,
            )
        if levels > MAX_DEPTH:
            raise ComposerError(
                None,
                None,
                f"nests deeper than {MAX_DEPTH} levels once aliases are expanded",
                node.start_mark,
            )

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, "expected a mapping", node.start_mark)
        mapping: dict[Any, Any] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise ConstructorError(
                    None,
                    None,
                    f"key {_short(key_node)} reads as a {_kind(key)}; keys must be strings "
                    "(quote it)",
                    key_node.start_mark,
                )
            line = key_node.start_mark.line + 1
            if key in lines:
                where = (
                    f"on line {line} twice"
                    if lines[key] == line
                    else f"on lines {lines[key]} and {line}"
                )
                raise ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice in one mapping, {where}; YAML keys are "
                    "unique (the second would silently replace the first)",
                    key_node.start_mark,
                )
            lines[key] = line
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text, 10)
        except ValueError:  # beyond Python's 4,300 digits
            raise ConstructorError(
                None, None, "an integer with too many digits", node.start_mark
            ) from None

    def construct_yaml_float(self, node: ScalarNode) -> float:
        text = str(self.construct_scalar(node)).lower()
        if text.endswith(".nan"):
            return float("nan")
        if text.endswith(".inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        return float(text)


def _short(node: Node) -> str:
    text = str(node.value) if isinstance(node, ScalarNode) else "<a collection>"
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number"}.get(type(value), "collection")


for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")),
):
    StrictLoader.add_implicit_resolver(_tag, _pattern, _first)
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)


def parse_yaml(text: str, path: Path) -> Any:
    """Parse one YAML document strictly; problems name `path` and the line."""
    loader: StrictLoader | None = None
    try:
        loader = StrictLoader(text)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = ", ".join(part for part in (error.context, error.problem) if part)
        raise _fail(path, f"is not valid YAML: {reason or 'cannot be parsed'}", where) from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise _fail(path, f"is not valid YAML: {_first_line(error)}") from None
    finally:
        if loader is not None:
            loader.dispose()


_PARSED: OrderedDict[str, Any] = OrderedDict()
"""Documents parsed lately, by file and content: `amlkit plan` reads a stack file five
times (the spec, the program's config, its secrets, the policy run), and pure-Python
YAML takes seconds a mebibyte, so each text is parsed once."""


def load_yaml(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> Any:
    """Read and parse a YAML file: `read_text` then `parse_yaml` (a text parsed before
    is not parsed again; each caller gets its own copy)."""
    text = read_text(path, limit=limit)
    key = hashlib.sha256(f"{os.path.abspath(path)}\0{text}".encode()).hexdigest()
    if key not in _PARSED:
        _PARSED[key] = parse_yaml(text, path)
        while len(_PARSED) > 16:
            _PARSED.popitem(last=False)
    _PARSED.move_to_end(key)
    return copy.deepcopy(_PARSED[key])


# --- JSON -------------------------------------------------------------------------------

_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def _json_shape(text: str) -> tuple[int, int]:
    """(deepest nesting, values) of a JSON text, strings skipped, without parsing it."""
    depth = deepest = 0
    values = 1
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()[0]
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        elif char in "]}":
            depth -= 1
        elif char == ",":
            values += 1
            if values > MAX_JSON_VALUES:
                break
    return deepest, values


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str, path: Path) -> Any:
    """Parse JSON strictly and within bounds; problems name `path`."""
    deepest, values = _json_shape(text)
    if deepest > MAX_DEPTH:
        raise _fail(path, f"is not valid JSON here: it nests deeper than {MAX_DEPTH} levels")
    if values > MAX_JSON_VALUES:
        raise _fail(path, f"is not valid JSON here: it holds more than {MAX_JSON_VALUES:,} values")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise _fail(path, f"is not valid JSON: {error.msg}", where) from None
    except (ValueError, RecursionError) as error:
        raise _fail(path, f"is not valid JSON: {_first_line(error)}") from None


def load_json(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> Any:
    """Read and parse a JSON file: `read_text` then `parse_json`."""
    return parse_json(read_text(path, limit=limit), path)


def load_plan_resources(path: Path) -> list[dict[str, Any]]:
    """The resources of a plan JSON file (`amlkit plan --json`), each checked to carry a
    string `urn`, `type` and `name` and an object of `inputs`; a ConfigError otherwise."""
    document = load_json(path, limit=MAX_PLAN_BYTES)
    resources = document.get("resources") if isinstance(document, dict) else None
    if not isinstance(resources, list):
        raise _fail(path, "is not an amlkit plan: no `resources` list (write one with --json)")
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict):
            raise _fail(path, "must be an object", f"resources[{index}]")
        for key in ("urn", "type", "name"):
            if not isinstance(resource.get(key), str):
                raise _fail(path, "must be a string", f"resources[{index}].{key}")
        if not isinstance(resource.get("inputs", {}), dict):
            raise _fail(path, "must be an object", f"resources[{index}].inputs")
    return resources


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
