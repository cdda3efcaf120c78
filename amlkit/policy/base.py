"""What every amlkit rule shares: metadata, type filters, reading inputs, unknowns.

A rule is one function that yields problems; the decorators below turn it into a
pulumi_policy policy (so `pulumi preview --policy-pack policy` runs it) that also
exposes `problems(args)` (so `amlkit plan` runs the very same function over the
offline plan). Two decisions live here, once:

- A value unknown at preview (`UnknownValueError`) is a problem of its own,
  "cannot decide", reported like any violation: at mandatory level it blocks the
  deploy instead of being downgraded to advisory as pulumi_policy would do.
- The violation text says what is wrong, then how to fix it (`Fix: ...`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError
from pydantic import TypeAdapter, ValidationError

ML = "azure-native:machinelearningservices:"
WORKSPACE = ML + "Workspace"
ONLINE_ENDPOINT = ML + "OnlineEndpoint"
ONLINE_DEPLOYMENT = ML + "OnlineDeployment"
BATCH_ENDPOINT = ML + "BatchEndpoint"
BATCH_DEPLOYMENT = ML + "BatchDeployment"
COMPUTE = ML + "Compute"
ENVIRONMENT_VERSION = ML + "EnvironmentVersion"
ML_REGISTRY = ML + "Registry"
CONTAINER_REGISTRY = "azure-native:containerregistry:Registry"
KEY_VAULT = "azure-native:keyvault:Vault"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
DOCKER_IMAGE = "docker-build:index:Image"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ENDPOINT_TRAFFIC = "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic"
BATCH_ENDPOINT_DEFAULT = "pulumi-python:dynamic/amlkit:BatchEndpointDefault"

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


class NotApplicable(Exception):
    """The rule has nothing to check in this stack (say why)."""


@dataclass(frozen=True)
class Problem:
    message: str
    urn: str | None = None


@dataclass(frozen=True)
class Anchor:
    """Where a rule comes from: checkov id, Azure Policy id or Azure doc."""

    framework: str
    reference: str

    def compliance(self) -> PolicyComplianceFramework:
        return PolicyComplianceFramework(name=self.framework, reference=self.reference)


def _schema(properties: Mapping[str, Any] | None) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties=dict(properties)) if properties else None


def _cannot_decide(error: UnknownValueError) -> str:
    return (
        f"cannot decide: the {error.message}; a mandatory rule that cannot see a value "
        "counts as failed (it is re-checked at `pulumi up` once the value is known)"
    )


def _wrong_type(error: Exception) -> str:
    return (
        f"cannot decide: a value has a type the rule cannot read ({error}); "
        "Azure would refuse it as well (see `amlkit plan --check-azure`)"
    )


ResourceCheck = Callable[[ResourceValidationArgs], Iterable[str]]
StackCheck = Callable[[StackValidationArgs], Iterable[tuple[str, str | None]]]


class ResourceRule(ResourceValidationPolicy):
    """A resource policy over some resource types, with its anchor and fix."""

    def __init__(
        self,
        check: ResourceCheck,
        *,
        name: str,
        description: str,
        anchor: Anchor,
        fix: str,
        level: EnforcementLevel,
        types: tuple[str, ...],
        config: Mapping[str, Any] | None = None,
        applies: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(
            name=name,
            description=description,
            enforcement_level=level,
            config_schema=_schema(config),
            framework=anchor.compliance(),
            remediation_steps=fix,
        )
        self.check = check
        self.types = types
        self.fix = fix
        self.anchor = anchor
        self._applies = applies

    def applies_to(self, resource_type: str) -> bool:
        if self._applies is not None:
            return self._applies(resource_type)
        return resource_type in self.types

    def problems(self, args: ResourceValidationArgs) -> Iterator[Problem]:
        if not self.applies_to(args.resource_type):
            return
        try:
            messages = list(self.check(args))
        except UnknownValueError as error:
            messages = [_cannot_decide(error)]
        except (TypeError, ValueError) as error:  # e.g. "3" where a number belongs
            messages = [_wrong_type(error)]
        for message in messages:
            yield Problem(message, args.urn)

    def validate(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for problem in self.problems(args):
            report_violation(f"{problem.message}. Fix: {self.fix}", None)


class StackRule(StackValidationPolicy):
    """A stack policy: it needs to see several resources at once."""

    def __init__(
        self,
        check: StackCheck,
        *,
        name: str,
        description: str,
        anchor: Anchor,
        fix: str,
        level: EnforcementLevel,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            name=name,
            description=description,
            enforcement_level=level,
            config_schema=_schema(config),
            framework=anchor.compliance(),
            remediation_steps=fix,
        )
        self.check = check
        self.fix = fix
        self.anchor = anchor

    def problems(self, args: StackValidationArgs) -> Iterator[Problem]:
        """Raises NotApplicable when the stack holds nothing this rule looks at."""
        try:
            found = list(self.check(args))
        except UnknownValueError as error:
            found = [(_cannot_decide(error), None)]
        except (TypeError, ValueError) as error:  # e.g. "3" where a number belongs
            found = [(_wrong_type(error), None)]
        for message, urn in found:
            yield Problem(message, urn)

    def validate(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        try:
            problems = list(self.problems(args))
        except NotApplicable as reason:
            args.not_applicable(str(reason))
            return
        for problem in problems:
            report_violation(f"{problem.message}. Fix: {self.fix}", problem.urn)


def resource_rule(
    *,
    name: str,
    description: str,
    anchor: Anchor,
    fix: str,
    level: EnforcementLevel,
    types: tuple[str, ...],
    config: Mapping[str, Any] | None = None,
    applies: Callable[[str], bool] | None = None,
) -> Callable[[ResourceCheck], ResourceRule]:
    def wrap(check: ResourceCheck) -> ResourceRule:
        return ResourceRule(
            check,
            name=name,
            description=description,
            anchor=anchor,
            fix=fix,
            level=level,
            types=types,
            config=config,
            applies=applies,
        )

    return wrap


def stack_rule(
    *,
    name: str,
    description: str,
    anchor: Anchor,
    fix: str,
    level: EnforcementLevel,
    config: Mapping[str, Any] | None = None,
) -> Callable[[StackCheck], StackRule]:
    def wrap(check: StackCheck) -> StackRule:
        return StackRule(
            check,
            name=name,
            description=description,
            anchor=anchor,
            fix=fix,
            level=level,
            config=config,
        )

    return wrap


# -- reading inputs -----------------------------------------------------------------

MISSING: Any = object()


def get(props: Any, dotted: str, default: Any = None) -> Any:
    """`properties.traffic` of camelCase inputs; `default` when a step is absent.
    Reading through pulumi_policy's proxy raises UnknownValueError on unknowns."""
    node = props
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def setting(args: ResourceValidationArgs | StackValidationArgs, key: str, default: Any) -> Any:
    """A policy config property (from `--policy-pack-config`), or its default."""
    config = args.get_config() or {}
    return config.get(key, default)


def lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def explicit(props: Any, dotted: str, wanted: Any) -> str | None:
    """A problem text unless `dotted` is set to `wanted`: security settings must be
    written out, not left to an Azure default that has changed over the years."""
    value = get(props, dotted, MISSING)
    if value is MISSING or value is None:
        return f"{dotted} is not set (must be {wanted!r})"
    if isinstance(wanted, str) and isinstance(value, str):
        if value.lower() != wanted.lower():
            return f"{dotted} is {value!r} (must be {wanted!r})"
        return None
    if value != wanted:
        return f"{dotted} is {value!r} (must be {wanted!r})"
    return None


_DURATION = TypeAdapter(timedelta)


def duration(value: Any) -> timedelta | None:
    """An ISO-8601 duration (`PT3S`), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return _DURATION.validate_python(value)
    except ValidationError:
        return None


def is_kubernetes(props: Any) -> bool:
    """An endpoint or deployment on Kubernetes (`kind`, its compute type, or an
    endpoint's attached `properties.compute`)."""
    return (
        lower(get(props, "kind")) == "kubernetes"
        or lower(get(props, "properties.endpointComputeType")) == "kubernetes"
        or get(props, "properties.compute") is not None
    )


def name_of(props: Any, *keys: str) -> str | None:
    """The Azure name: the given input keys, else the `name` output."""
    for key in (*keys, "name"):
        value = get(props, key)
        if isinstance(value, str) and value:
            return value
    return None


def shown(value: Any) -> Any:
    """A value for a message: integral floats as ints (the engine sends 3.0 for 3)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def num(value: Any) -> Any:
    """A number as people write it: the engine sends every number as a float (3.0).
    Anything else but None raises TypeError: the rule reports it as "cannot decide"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise TypeError(f"expected a number, got {type(value).__name__} {value!r}")
    return value


Found = Iterator[tuple[str, str | None]]
"""What a stack rule yields: a problem and the URN it is about (None: the stack)."""


def of_type(resources: Iterable[PolicyResource], typ: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == typ]
