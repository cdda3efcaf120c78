"""Azure ML's own ARM models, read as a schema: what a request body may hold.

The models are azure-ai-ml's `_restclient/arm_ml_service` (API 2025-12-01, the
version pulumi-azure-native 3.29 sends for machinelearningservices). In
azure-ai-ml 1.35 they are TypeSpec-generated `model_base` models, not msrest
ones: there is no `_attribute_map`/`_validation`/`_subtype_map`. The same facts
sit elsewhere, and this module reads them from there:

- REST name and read-only mark: each `rest_field(name=..., visibility=[...])`;
  a field whose visibility is only `read` is computed by Azure (the SDK's own
  `_is_readonly` test).
- type: the class annotations (`Optional[int]`, `Union[str, EnumClass]`,
  `dict[str, Model]`, `datetime.timedelta` for ISO-8601 durations,
  `datetime.datetime` for RFC 3339 times).
- required: the keyword-only parameters without default of the typed
  `__init__` overload (the generator writes "Required." there and nowhere else
  machine-readable).
- discriminators: `rest_discriminator` fields and the base class's
  `__mapping__` (value -> subclass), filled by `__init_subclass__`.
- enums: `str` enums with `CaseInsensitiveEnumMeta`, i.e. Azure matches their
  values without regard to case; bodies are checked the same way.

What these models do not carry (the msrest ones did): minimum/maximum, length
and pattern constraints. Those stay with amlkit's specs.
"""

from __future__ import annotations

import datetime
import enum
import functools
import inspect
import re
import typing
from dataclasses import dataclass
from types import ModuleType, NoneType, UnionType
from typing import Any, Literal

API_VERSION = "2025-12-01"
"""The API version both azure-ai-ml's models and azure-native's ML resources use."""

ML_TYPE_PREFIX = "azure-native:machinelearningservices:"

# azure-native resource name -> ARM model, where the two names differ.
_MODEL_NAMES = {"Compute": "ComputeResource", "DataVersion": "DataVersionBase"}


@dataclass(frozen=True)
class Scalar:
    kind: Literal["str", "int", "float", "bool", "any", "duration", "datetime"]


@dataclass(frozen=True)
class EnumOf:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Const:
    """A discriminator fixed by its subclass (`Literal[ComputeType.AML_COMPUTE]`)."""

    value: str


@dataclass(frozen=True)
class ListOf:
    item: TypeSpec


@dataclass(frozen=True)
class MapOf:
    value: TypeSpec


@dataclass(frozen=True)
class ModelOf:
    cls: type


TypeSpec = Scalar | EnumOf | Const | ListOf | MapOf | ModelOf


@dataclass(frozen=True)
class Field:
    rest_name: str
    type: TypeSpec
    readonly: bool
    required: bool
    discriminator: bool


@dataclass(frozen=True)
class Discriminator:
    rest_name: str
    subtypes: dict[str, type]


def models_module() -> ModuleType:
    from azure.ai.ml._restclient.arm_ml_service import models

    return models


def client_api_version() -> str:
    """The API version azure-ai-ml's ARM client sends by default (read, not assumed)."""
    from azure.ai.ml._restclient.arm_ml_service import _configuration

    source = inspect.getsource(_configuration)
    match = re.search(r'kwargs\.pop\("api_version", "([^"]+)"\)', source)
    return match.group(1) if match else "unknown"


def model_for(type_token: str) -> type | None:
    """The ARM model of an azure-native ML resource's request body, or None."""
    if not type_token.startswith(ML_TYPE_PREFIX):
        return None
    name = type_token.removeprefix(ML_TYPE_PREFIX)
    found = getattr(models_module(), _MODEL_NAMES.get(name, name), None)
    return found if isinstance(found, type) and _is_model(found) else None


@functools.cache
def fields(cls: type) -> dict[str, Field]:
    """The model's fields by REST name, base classes' included."""
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _RestField

    hints = typing.get_type_hints(cls, localns={"_models": models_module()})
    required = _required_parameters(cls)
    found: dict[str, Field] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if attr.startswith("_") or not isinstance(value, _RestField):
                continue
            rest_name = value._rest_name_input or attr
            found[rest_name] = Field(
                rest_name=rest_name,
                type=type_spec(hints.get(attr, Any)),
                readonly=value._visibility == ["read"],
                required=attr in required,
                discriminator=value._is_discriminator,
            )
    return found


def discriminator(cls: type, used: frozenset[str]) -> Discriminator | None:
    """The polymorphic switch a model declares itself, if any (as the SDK's
    `_get_discriminator`: the first discriminator field not already used above)."""
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _RestField

    mapping = getattr(cls, "__mapping__", None)
    if not mapping:
        return None
    for attr, value in vars(cls).items():
        if isinstance(value, _RestField) and value._is_discriminator:
            rest_name = value._rest_name_input or attr
            if rest_name not in used:
                subtypes = {k: v for k, v in mapping.items() if issubclass(v, cls) and v is not cls}
                return Discriminator(rest_name, subtypes) if subtypes else None
    return None


def type_spec(annotation: Any) -> TypeSpec:
    """A model annotation as a TypeSpec."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, UnionType):
        members = [a for a in args if a is not NoneType]
        enums = [a for a in members if _is_enum(a)]
        if enums and all(a is str or _is_enum(a) for a in members):
            return _enum_spec(enums[0])
        if len(members) == 1:
            return type_spec(members[0])
        return Scalar("any")
    if origin is Literal:
        value = args[0]
        return Const(value.value if isinstance(value, enum.Enum) else str(value))
    if origin is list:
        return ListOf(type_spec(args[0]) if args else Scalar("any"))
    if origin is dict:
        return MapOf(type_spec(args[1]) if len(args) == 2 else Scalar("any"))
    if _is_enum(annotation):
        return _enum_spec(annotation)
    if isinstance(annotation, type) and _is_model(annotation):
        return ModelOf(annotation)
    simple: dict[Any, TypeSpec] = {
        str: Scalar("str"),
        int: Scalar("int"),
        float: Scalar("float"),
        bool: Scalar("bool"),
        datetime.timedelta: Scalar("duration"),
        datetime.datetime: Scalar("datetime"),
    }
    return simple.get(annotation, Scalar("any"))


def _enum_spec(cls: type[enum.Enum]) -> EnumOf:
    return EnumOf(cls.__name__, tuple(str(m.value) for m in cls))


def _is_enum(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, enum.Enum)


def _is_model(value: type) -> bool:
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import Model

    return issubclass(value, Model)


def _required_parameters(cls: type) -> frozenset[str]:
    """Keyword-only parameters without default of the typed `__init__` overload."""
    for overload in typing.get_overloads(cls.__init__):  # type: ignore[misc]
        parameters = inspect.signature(overload).parameters.values()
        if any(p.kind is p.KEYWORD_ONLY for p in parameters):
            return frozenset(
                p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty
            )
    return frozenset()
