"""Feeding rules synthetic resources the way the policy runtime feeds them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from amlkit.policy import NotApplicable, ResourceRule, StackRule

UNKNOWN = UNKNOWN_STRING_VALUE
"""What the engine sends for a value known only after deploy."""


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource_args(
    typ: str,
    props: Mapping[str, Any],
    *,
    protect: bool = False,
    config: Mapping[str, Any] | None = None,
    name: str = "r",
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        typ,
        unknown_checking_proxy(dict(props)),
        f"urn:pulumi:test::amlkit::{typ}::{name}",
        name,
        options(protect),
        None,
        dict(config or {}),
    )


def policy_resource(
    typ: str, props: Mapping[str, Any], name: str = "r", depends_on: Sequence[PolicyResource] = ()
) -> PolicyResource:
    return PolicyResource(
        typ,
        unknown_checking_proxy(dict(props)),
        f"urn:pulumi:test::amlkit::{typ}::{name}",
        name,
        options(),
        None,
        None,
        list(depends_on),
        {},
    )


def problems(rule: ResourceRule | StackRule, target: Any) -> list[str]:
    """The rule's problems, as messages; also checks that `validate` (what the engine
    calls) reports the same ones, each with the rule's fix."""
    found = [p.message for p in rule.problems(target)]
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    rule.validate(target, report)
    assert reported == [f"{m}. Fix: {rule.fix}" for m in found]
    return found


def stack_args(
    resources: Sequence[PolicyResource], config: Mapping[str, Any] | None = None
) -> StackValidationArgs:
    return StackValidationArgs(list(resources), dict(config or {}))


def not_applicable(rule: StackRule, args: StackValidationArgs) -> str | None:
    try:
        list(rule.problems(args))
    except NotApplicable as reason:
        return str(reason)
    return None
