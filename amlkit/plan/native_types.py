"""Check a plan resource's inputs against azure-native's own input types.

For resources outside Azure ML (the AKS cluster, its Trusted Access binding, the cluster
extension) azure-ai-ml has no models; the schema at hand is the azure-native SDK itself,
generated from the same ARM specs: each resource's `<Resource>Args` class and the nested
`...Args` classes, whose properties carry their wire names
(`@pulumi.getter(name="enableRBAC")`) and their types (`Optional[pulumi.Input[str]]`,
`Sequence[...]`, `Mapping[str, ...]`, `Union[str, SomeEnum]`). The walker reports, in
`azure_check`'s terms: `unknown-property` (with the closest name), `wrong-type`,
`unknown-enum` (case-insensitive, as ARM reads enums) and `missing-required`.
Values marked secret ("[secret]") are not type-checked.
"""

from __future__ import annotations

import collections.abc
import difflib
import enum
import functools
import importlib
import sys
import typing
from dataclasses import dataclass
from typing import Any

from .azure_check import SECRET, Problem

NATIVE_PREFIX = "azure-native:"


@dataclass(frozen=True)
class NativeField:
    annotation: Any
    required: bool
    module: str


def args_class(type_token: str) -> type | None:
    """`azure-native:containerservice:ManagedCluster` -> `ManagedClusterArgs`, or None."""
    if not type_token.startswith(NATIVE_PREFIX):
        return None
    _, module, resource = type_token.split(":")
    package = importlib.import_module(f"pulumi_azure_native.{module}")
    # A resource whose name clashes with a nested type takes `<Resource>InitArgs`
    # (monitor's ActionGroup: `ActionGroupArgs` is the nested type).
    for name in (f"{resource}InitArgs", f"{resource}Args"):
        found = getattr(package, name, None)
        if isinstance(found, type):
            return found
    return None


@functools.cache
def fields(cls: type) -> dict[str, NativeField]:
    """The class's properties by wire (camelCase) name."""
    found: dict[str, NativeField] = {}
    for klass in reversed(cls.__mro__):
        for value in vars(klass).values():
            getter = getattr(value, "fget", None)
            wire = getattr(getter, "_pulumi_name", None)
            if wire is None:
                continue
            annotation = getter.__annotations__.get("return", Any)
            required = type(None) not in typing.get_args(annotation)
            found[wire] = NativeField(annotation, required, klass.__module__)
    return found


def check_inputs(type_token: str, inputs: dict[str, Any]) -> list[Problem]:
    """Problems of one resource's plan inputs; [] for types without an Args class."""
    cls = args_class(type_token)
    if cls is None:
        return []
    problems: list[Problem] = []
    _model(inputs, cls, "", problems)
    return problems


def _model(value: Any, cls: type, path: str, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem("wrong-type", path, value, f"an object ({cls.__name__})"))
        return
    known = fields(cls)
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        field = known.get(key)
        if field is None:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"{close[0]!r} (did you mean it?) among " if close else ""
            problems.append(
                Problem("unknown-property", where, key, f"{hint}{cls.__name__}'s {sorted(known)}")
            )
            continue
        _value(item, field.annotation, field.module, where, problems)
    for key, field in known.items():
        if field.required and value.get(key) is None:
            where = f"{path}.{key}" if path else key
            problems.append(Problem("missing-required", where, None, f"a value ({cls.__name__})"))


def _value(value: Any, annotation: Any, module: str, path: str, problems: list[Problem]) -> None:
    if value is None or value == SECRET:
        return
    kinds = _kinds(annotation, module)
    enums = [k for k in kinds if isinstance(k, type) and issubclass(k, enum.Enum)]
    if enums and isinstance(value, str):
        # `Union[str, Enum]` lets any string through the SDK, but ARM checks it: a value
        # outside the enum is reported either way.
        allowed = [str(m.value) for e in enums for m in e]
        if not any(a.lower() == value.lower() for a in allowed):
            problems.append(Problem("unknown-enum", path, value, f"one of {allowed}"))
        return
    # Polymorphic inputs (`Union[AArgs, BArgs]`): the first alternative that fits cleanly,
    # else the one that fits with the fewest problems.
    best: list[Problem] | None = None
    for kind in kinds:
        found: list[Problem] = []
        if _fits(value, kind, module, path, found):
            if not found:
                return
            if best is None or len(found) < len(best):
                best = found
    if best is not None:
        problems.extend(best)
        return
    names = ", ".join(_name(k) for k in kinds)
    problems.append(Problem("wrong-type", path, value, names or "nothing"))


def _fits(value: Any, kind: Any, module: str, path: str, problems: list[Problem]) -> bool:
    origin = typing.get_origin(kind)
    if origin in (collections.abc.Sequence, list):
        if not isinstance(value, list):
            return False
        (item,) = typing.get_args(kind)
        for index, element in enumerate(value):
            _value(element, item, module, f"{path}[{index}]", problems)
        return True
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict):
            return False
        _, item = typing.get_args(kind)
        for key, element in value.items():
            _value(element, item, module, f"{path}.{key}", problems)
        return True
    if isinstance(kind, type) and fields(kind):
        if not isinstance(value, dict):
            return False
        _model(value, kind, path, problems)
        return True
    if isinstance(kind, type) and kind.__module__ == "pulumi.asset":
        # A plan writes Pulumi assets and archives as {"asset": path} / {"archive": path}.
        return isinstance(value, dict) and bool({"asset", "archive"} & set(value))
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    return kind is Any


def _kinds(annotation: Any, module: str) -> list[Any]:
    """The concrete types an input annotation allows: Optional, Awaitable and Output peeled,
    forward references resolved in the SDK module that declares them."""
    if isinstance(annotation, typing.ForwardRef | str):
        name = (
            annotation.__forward_arg__ if isinstance(annotation, typing.ForwardRef) else annotation
        )
        if name.startswith("Output["):
            return []
        resolved = _resolve(name, module)
        return [] if resolved is None else _kinds(resolved, module)
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        kinds: list[Any] = []
        for member in typing.get_args(annotation):
            for kind in _kinds(member, module):
                if kind not in kinds:
                    kinds.append(kind)
        return kinds
    if origin is collections.abc.Awaitable or annotation is type(None):
        return []
    return [annotation]


def _resolve(name: str, module: str) -> Any:
    namespace = vars(sys.modules[module])
    if name in namespace:
        return namespace[name]
    package = module.rsplit(".", 1)[0]
    for part in ("_inputs", "_enums"):
        found = getattr(importlib.import_module(f"{package}.{part}"), name, None)
        if found is not None:
            return found
    return None


def _name(kind: Any) -> str:
    return getattr(kind, "__name__", None) or str(kind)
