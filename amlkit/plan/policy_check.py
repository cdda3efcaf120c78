"""Run the policy pack's rules over an offline plan, at the stack's levels.

The same rule objects `pulumi preview --policy-pack policy` runs (amlkit.policy),
fed the plan's resources the way the engine feeds them: inputs behind
pulumi_policy's unknown-checking proxy, protect and parent in the options, pack
config per rule. Levels come from the stack's `amlkit:policy.config` file, in the
format of `--policy-pack-config`: a rule's own entry, else `all`, else the rule's
default level.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from amlkit.policy import RULES, NotApplicable, ResourceRule, Rule, StackRule
from amlkit.policy.secrets import STACK_OUTPUTS
from amlkit.specs import ConfigError, Problem, StackSpec
from amlkit.specs.errors import display_path
from amlkit.specs.loader import load_json
from amlkit.specs.project import Project
from amlkit.specs.stack_config import read_stack_config, secret_keys, stack_file

_LEVELS = {level.value: level for level in EnforcementLevel}
_USED = (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    """`mandatory` or `advisory`."""
    urn: str | None
    resource: str
    message: str
    fix: str

    def as_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "urn": self.urn,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class PolicyReport:
    config: str | None
    violations: list[Violation] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)
    """Rule name -> why it had nothing to check."""
    levels: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(v.level == "mandatory" for v in self.violations)

    def as_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "violations": [v.as_json() for v in self.violations],
            "notApplicable": self.not_applicable,
            "levels": self.levels,
        }


@dataclass(frozen=True)
class RuleSettings:
    level: EnforcementLevel
    config: dict[str, Any]


def read_pack_config(path: Path | None) -> dict[str, RuleSettings]:
    """Each rule's level and config from a `--policy-pack-config` file (None: defaults).

    Raises ConfigError, one line per problem, for unreadable files, unknown rules and
    unknown levels."""
    raw: dict[str, Any] = {}
    shown = display_path(path) if path is not None else ""
    if path is not None:
        raw = load_json(path)
        if not isinstance(raw, dict):
            raise ConfigError([Problem(shown, "", "must be a JSON object of rule -> level")])
    problems: list[Problem] = []
    names = {rule.name for rule in RULES}

    def level_and_props(key: str, value: Any) -> tuple[EnforcementLevel | None, dict[str, Any]]:
        text, props = (value, {}) if isinstance(value, str) else (None, {})
        if isinstance(value, dict):
            text = value.get("enforcementLevel")
            props = {k: v for k, v in value.items() if k != "enforcementLevel"}
        elif not isinstance(value, str):
            problems.append(Problem(shown, key, "must be a level or an object"))
            return None, {}
        if text is None:
            return None, props
        if text not in _LEVELS:
            problems.append(
                Problem(shown, key, f"level {text!r} is unknown; allowed: {', '.join(_LEVELS)}")
            )
            return None, props
        return _LEVELS[text], props

    default_level, _ = level_and_props("all", raw.get("all")) if "all" in raw else (None, {})
    for key in raw:
        if key != "all" and key not in names:
            problems.append(
                Problem(shown, key, f"is not a rule of the pack; rules: {', '.join(sorted(names))}")
            )
    settings: dict[str, RuleSettings] = {}
    for rule in RULES:
        level, props = (
            level_and_props(rule.name, raw[rule.name]) if rule.name in raw else (None, {})
        )
        known = rule.config_schema.properties if rule.config_schema else {}
        for key in sorted(set(props) - set(known)):
            # The Pulumi CLI validates a pack config against each policy's schema too.
            allowed = ", ".join(sorted(known)) or "none"
            problems.append(
                Problem(
                    shown,
                    f"{rule.name}.{key}",
                    f"is not a setting of this rule; settings: {allowed}",
                )
            )
        chosen = level or default_level or rule.enforcement_level or EnforcementLevel.ADVISORY
        if chosen == EnforcementLevel.REMEDIATE:  # no rule remediates: the engine blocks instead
            chosen = EnforcementLevel.MANDATORY
        settings[rule.name] = RuleSettings(chosen, props)
    if problems:
        raise ConfigError(problems)
    return settings


def _options(resource: Mapping[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=bool(resource.get("protect")),
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.get("parent"),
    )


def _stack_resources(document: Mapping[str, Any]) -> list[PolicyResource]:
    by_urn: dict[str, PolicyResource] = {}
    for r in document["resources"]:
        by_urn[r["urn"]] = PolicyResource(
            r["type"],
            unknown_checking_proxy(r.get("inputs") or {}),
            r["urn"],
            r["name"],
            _options(r),
            None,
            None,
            [],
            {},
        )
    for r in document["resources"]:
        resource = by_urn[r["urn"]]
        resource.parent = by_urn.get(r.get("parent") or "")
        resource.dependencies = [by_urn[u] for u in r.get("dependsOn", []) if u in by_urn]
    outputs = PolicyResource(
        STACK_OUTPUTS,
        unknown_checking_proxy(document.get("outputs") or {}),
        f"urn:pulumi:{document['stack']}::{document['project']}::{STACK_OUTPUTS}::outputs",
        "outputs",
        _options({}),
        None,
        None,
        [],
        {},
    )
    return [*by_urn.values(), outputs]


def check_plan(
    document: Mapping[str, Any],
    *,
    pack_config: Path | None,
    previous: Path | None = None,
    stack_config: Mapping[str, Any] | None = None,
    secret_keys: list[str] | None = None,
) -> PolicyReport:
    """Every rule at its level over the plan; `previous` is the deployed plan (rule 3)."""
    settings = read_pack_config(pack_config)
    if previous is not None:
        rule3 = settings["aml-deployment-delete-live-traffic"]
        settings["aml-deployment-delete-live-traffic"] = RuleSettings(
            rule3.level, {**rule3.config, "previousPlan": str(previous)}
        )
    if stack_config is not None:  # what rule 21 reads, as the engine would hand it over
        pulumi.runtime.set_all_config(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in stack_config.items()},
            secret_keys or [],
        )
    report = PolicyReport(config=display_path(pack_config) if pack_config else None)
    report.levels = {name: s.level.value for name, s in settings.items()}
    active: list[Rule] = [r for r in RULES if settings[r.name].level in _USED]
    resources = document["resources"]
    names = {r["urn"]: r["name"] for r in resources}
    checked: set[str] = set()
    proxied = [(r, unknown_checking_proxy(r.get("inputs") or {})) for r in resources]
    for rule in active:
        setting = settings[rule.name]
        if isinstance(rule, ResourceRule):
            for r, props in proxied:
                if not rule.applies_to(r["type"]):
                    continue
                checked.add(rule.name)
                args = ResourceValidationArgs(
                    r["type"], props, r["urn"], r["name"], _options(r), None, setting.config
                )
                for problem in rule.problems(args):
                    report.violations.append(
                        _violation(rule, setting, problem.urn, names, problem.message)
                    )
            if rule.name not in checked:
                report.not_applicable[rule.name] = (
                    f"no {' or '.join(_short(t) for t in rule.types) or 'taggable'} resource in the plan"
                )
        elif isinstance(rule, StackRule):
            stack_args = StackValidationArgs(_stack_resources(document), setting.config)
            try:
                for problem in rule.problems(stack_args):
                    report.violations.append(
                        _violation(rule, setting, problem.urn, names, problem.message)
                    )
            except NotApplicable as reason:
                report.not_applicable[rule.name] = str(reason)
    return report


def _short(typ: str) -> str:
    return typ.rsplit(":", 1)[-1]


def _violation(
    rule: Rule, setting: RuleSettings, urn: str | None, names: Mapping[str, str], message: str
) -> Violation:
    return Violation(
        policy=rule.name,
        level=setting.level.value,
        urn=urn,
        resource=names.get(urn or "", "(stack)"),
        message=message,
        fix=rule.fix,
    )


def check_stack(
    project: Project,
    stack: str,
    spec: StackSpec,
    document: Mapping[str, Any],
    *,
    previous: Path | None = None,
) -> PolicyReport:
    """`check_plan` with the stack's own policy config and Pulumi config."""
    if previous is not None and not previous.is_file():
        raise ConfigError([Problem(str(previous), "", "no such plan file (--previous)")])
    path = stack_file(project.stacks_dir, stack)
    config = spec.policy.config
    return check_plan(
        document,
        pack_config=Path(config) if config else None,
        previous=previous,
        stack_config=read_stack_config(path),
        secret_keys=secret_keys(path),
    )
