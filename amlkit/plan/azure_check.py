"""Check request bodies against Azure ML's own ARM models, as Azure would read them.

`walk` is one generic walker over the schema `azure_models` reads from
azure-ai-ml; nothing here knows a particular resource. It reports:
- `unknown-property`: a key the model does not have (with the closest name);
- `wrong-type`: e.g. a string where Azure wants an integer (bools are not numbers;
  a float is not an integer, even 3.0: the plan keeps integers as integers);
- `unknown-enum`: a value outside the enum's known values. Azure's enums are
  case-insensitive (the models declare them with `CaseInsensitiveEnumMeta`), so
  `aadToken` is `AADToken`; `AzureAD` is not;
- `unknown-discriminator`: a polymorphic switch (`endpointComputeType`,
  `computeType`, ...) Azure has no subtype for. Matched exactly: the SDK looks
  subtypes up by exact value;
- `bad-duration`: not ISO-8601 (`PT1M30S` is; `5000` and `500ms` are not);
- `bad-datetime`: not RFC 3339;
- `read-only`: a field Azure computes (visibility `read` only);
- `missing-required`: a required field left out.
Values marked secret in a plan ("[secret]") are not type-checked: the plan
does not hold them.

The walker also returns the body in canonical form (enum values in the model's
spelling, durations in one ISO-8601 spelling), so two bodies can be compared.
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import isodate

from . import azure_body, azure_models
from .azure_models import Const, EnumOf, ListOf, MapOf, ModelOf, Scalar, TypeSpec

SECRET = "[secret]"


@dataclass(frozen=True)
class Problem:
    kind: str
    path: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{self.path or '<body>'}: {self.kind} {self.value!r}; Azure allows {self.allowed}"


@dataclass(frozen=True)
class Finding:
    """A problem in one resource of a plan."""

    urn: str
    name: str
    type: str
    problem: Problem


def walk(value: Any, spec: TypeSpec, path: str = "") -> tuple[Any, list[Problem]]:
    """Check `value` against `spec`; return its canonical form and the problems."""
    problems: list[Problem] = []
    canonical = _walk(value, spec, path, problems)
    return canonical, problems


def check_body(body: dict[str, Any], model: type) -> tuple[dict[str, Any], list[Problem]]:
    canonical, problems = walk(body, ModelOf(model))
    return canonical, problems


def check_resource(resource: dict[str, Any]) -> list[Finding]:
    """One plan resource (`type`, `urn`, `name`, `inputs`); [] for non-ML resources."""
    typ = resource["type"]
    model = azure_models.model_for(typ)
    if model is None:
        return []
    sent = azure_body.sent_api_version(typ)
    if sent is not None and sent != azure_models.API_VERSION:
        problem = Problem(
            "api-version",
            "",
            sent,
            f"{azure_models.API_VERSION} (the version of azure-ai-ml's models)",
        )
        return [Finding(resource["urn"], resource["name"], typ, problem)]
    body = azure_body.request_body(typ, resource["inputs"], model)
    _, problems = check_body(body, model)
    return [Finding(resource["urn"], resource["name"], typ, p) for p in problems]


def checked_types(document: dict[str, Any]) -> list[str]:
    return [r["type"] for r in document["resources"] if azure_models.model_for(r["type"])]


def check_plan(document: dict[str, Any]) -> list[Finding]:
    """Every Azure ML resource of a plan document (DESIGN.md "Plan JSON")."""
    findings: list[Finding] = []
    for resource in document["resources"]:
        findings.extend(check_resource(resource))
    return findings


def _walk(value: Any, spec: TypeSpec, path: str, problems: list[Problem]) -> Any:
    if value is None:
        return None
    if value == SECRET:
        return value
    if isinstance(spec, ModelOf):
        return _walk_model(value, spec.cls, path, problems, frozenset())
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            problems.append(Problem("wrong-type", path, value, "a list"))
            return value
        return [_walk(v, spec.item, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(spec, MapOf):
        if not isinstance(value, dict):
            problems.append(Problem("wrong-type", path, value, "an object (map)"))
            return value
        return {k: _walk(v, spec.value, _join(path, k), problems) for k, v in value.items()}
    if isinstance(spec, EnumOf):
        return _walk_enum(value, spec, path, problems)
    if isinstance(spec, Const):
        if value != spec.value:
            problems.append(Problem("unknown-discriminator", path, value, repr(spec.value)))
        return value
    return _walk_scalar(value, spec, path, problems)


def _walk_model(
    value: Any, cls: type, path: str, problems: list[Problem], used: frozenset[str]
) -> Any:
    if not isinstance(value, dict):
        problems.append(Problem("wrong-type", path, value, f"an object ({cls.__name__})"))
        return value
    switch = azure_models.discriminator(cls, used)
    if switch is not None:
        chosen = value.get(switch.rest_name)
        where = _join(path, switch.rest_name)
        if chosen is None:
            problems.append(
                Problem("missing-required", where, None, f"one of {sorted(switch.subtypes)}")
            )
            return value
        elif chosen not in switch.subtypes:
            problems.append(
                Problem("unknown-discriminator", where, chosen, f"one of {sorted(switch.subtypes)}")
            )
            return value  # which subtype's fields apply is unknown: nothing more to say
        else:
            return _walk_model(
                value, switch.subtypes[chosen], path, problems, used | {switch.rest_name}
            )
    fields = azure_models.fields(cls)
    canonical: dict[str, Any] = {}
    for key, item in value.items():
        where = _join(path, key)
        field = fields.get(key)
        if field is None:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"{close[0]!r} (did you mean it?) among " if close else ""
            known = ", ".join(sorted(f for f in fields if not fields[f].readonly))
            problems.append(
                Problem("unknown-property", where, key, f"{hint}{cls.__name__}'s {known}")
            )
            canonical[key] = item
            continue
        if field.readonly and item is not None:
            problems.append(Problem("read-only", where, item, "nothing: Azure sets it"))
        canonical[key] = _walk(item, field.type, where, problems)
    for name, field in fields.items():
        if field.required and value.get(name) is None:
            problems.append(
                Problem("missing-required", _join(path, name), None, f"a value ({cls.__name__})")
            )
    return canonical


def _walk_enum(value: Any, spec: EnumOf, path: str, problems: list[Problem]) -> Any:
    if not isinstance(value, str):
        problems.append(Problem("wrong-type", path, value, f"a string ({spec.name})"))
        return value
    for known in spec.values:
        if known.lower() == value.lower():
            return known
    problems.append(Problem("unknown-enum", path, value, f"one of {list(spec.values)}"))
    return value


def _walk_scalar(value: Any, spec: Scalar, path: str, problems: list[Problem]) -> Any:
    kind = spec.kind
    if kind == "any":
        return value
    if kind == "str":
        ok = isinstance(value, str)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "duration":
        return _duration(value, path, problems)
    else:
        ok = isinstance(value, str) and _is_datetime(value)
        if not ok:
            problems.append(Problem("bad-datetime", path, value, "an RFC 3339 date-time"))
        return value
    if not ok:
        allowed = {
            "str": "a string",
            "int": "an integer",
            "float": "a number",
            "bool": "true/false",
        }
        problems.append(Problem("wrong-type", path, value, allowed[kind]))
    return value


def _duration(value: Any, path: str, problems: list[Problem]) -> Any:
    """ISO-8601 as the SDK reads it (isodate); canonical: seconds spelled as amlkit does."""
    allowed = "an ISO-8601 duration such as PT1M30S or PT0.5S"
    if not isinstance(value, str) or not any(c.isdigit() for c in value):
        problems.append(Problem("bad-duration", path, value, allowed))  # `PT` alone is no duration
        return value
    try:
        parsed = isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        problems.append(Problem("bad-duration", path, value, allowed))
        return value
    if not isinstance(parsed, datetime.timedelta) or parsed < datetime.timedelta(0):
        return value  # years or months have no fixed length; keep the spelling
    from amlkit.components.durations import iso_seconds

    seconds = Decimal(parsed.days * 86400 + parsed.seconds) + Decimal(parsed.microseconds) / 10**6
    return iso_seconds(seconds)  # type: ignore[arg-type]


def _is_datetime(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
