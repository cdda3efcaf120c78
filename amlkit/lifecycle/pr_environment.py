"""`amlkit env create`: a pull request's short-lived copy of a stack.

`stacks/Pulumi.pr-<N>.yaml` is the source stack's file, round-trip (comments, key
order and `secure:` values kept; `stack_yaml.py`), with:
- environment name `pr<N>` (environment names allow no hyphen; the stack is `pr-<N>`);
- a new `salt`, so the globally unique names and the names Azure keeps after deletion
  (key vault up to 90 days, workspace and Log Analytics 14) are new on every creation;
- `protect: false` and `ephemeral: {ttl_hours, expires_at, source, pull_request}`;
- every online and batch endpoint renamed (`endpoint_names.py`), deployments that name
  their endpoint following it;
- an explicit resource group or workspace name dropped, so the naming helper's (which
  carry the environment name) apply;
- optionally a downsizing profile (`profiles.py`).

The written file is loaded back with the specs before anyone uses it: a copy that
would not validate is a bug here, never left on disk. Pulumi stack tags carry the
same facts for stacks found in the backend without their file (`stack_tags`).
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from amlkit.specs.batch_endpoint import BatchEndpointSpec
from amlkit.specs.errors import ConfigError, Problem, display_path
from amlkit.specs.online_endpoint import OnlineEndpointSpec
from amlkit.specs.pipeline_batch_deployment import PipelineBatchDeploymentSpec
from amlkit.specs.project import Project
from amlkit.specs.stack import StackSpec
from amlkit.specs.stack_config import load_stack_spec, stack_file

from . import stack_yaml
from .endpoint_names import rename_endpoints
from .profiles import PROFILES, apply_profile

TAG_EPHEMERAL = "amlkit:ephemeral"
TAG_EXPIRES_AT = "amlkit:expires-at"
TAG_SOURCE = "amlkit:source"
TAG_PR = "amlkit:pr"


class EnvCreateError(Exception):
    """A request `env create` cannot carry out; the message is one line for the user."""


@dataclass(frozen=True)
class CreateRequest:
    source: str
    pull_request: int
    ttl_hours: int
    now: datetime
    """Aware; `expires_at` is `now + ttl_hours`."""
    profile: str | None = None
    salt: str | None = None
    """Default: six random hex characters, new for every creation."""
    replace: bool = False
    """Overwrite an existing stack file (the environment gets a new salt)."""


@dataclass
class Created:
    stack: str
    path: Path
    spec: StackSpec
    renamed: dict[str, str]
    dropped: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    secure_values: list[str] = field(default_factory=list)

    @property
    def tags(self) -> dict[str, str]:
        return stack_tags(self.spec)


def pr_stack_name(pull_request: int) -> str:
    return f"pr-{pull_request}"


def stack_tags(spec: StackSpec) -> dict[str, str]:
    """The Pulumi stack tags of an ephemeral environment (none for a lasting one)."""
    ephemeral = spec.environment.ephemeral
    if ephemeral is None:
        return {}
    tags = {TAG_EPHEMERAL: "true"}
    if ephemeral.expires_at is not None:
        tags[TAG_EXPIRES_AT] = iso_utc(ephemeral.expires_at)
    if ephemeral.source:
        tags[TAG_SOURCE] = ephemeral.source
    if ephemeral.pull_request is not None:
        tags[TAG_PR] = str(ephemeral.pull_request)
    return tags


def iso_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def create_pr_environment(project: Project, request: CreateRequest) -> Created:
    """Write the pull request's stack file; raises ConfigError (the source is bad) or
    EnvCreateError (the request is)."""
    if request.profile is not None and request.profile not in PROFILES:
        raise EnvCreateError(
            f"--profile {request.profile!r} is not a profile; profiles: {', '.join(PROFILES)}"
        )
    stack = pr_stack_name(request.pull_request)
    if stack == request.source:
        raise EnvCreateError(f"--from {stack} is the environment itself")
    target = stack_file(project.stacks_dir, stack)
    if target.exists() and not request.replace:
        raise EnvCreateError(
            f"{display_path(target)} exists: tear the environment down first "
            f"(amlkit teardown --stack {stack}) or pass --replace"
        )
    source_spec = load_stack_spec(project.stacks_dir, request.source)
    if source_spec.environment.ephemeral is not None:
        raise EnvCreateError(
            f"--from {request.source} is itself a test environment; copy a lasting one"
        )
    doc = stack_yaml.load(stack_file(project.stacks_dir, request.source))
    config = doc.get("config")
    if not isinstance(config, MutableMapping):
        raise ConfigError(
            [
                Problem(
                    display_path(stack_file(project.stacks_dir, request.source)),
                    "config",
                    "is missing",
                )
            ]
        )
    env_name = f"pr{request.pull_request}"
    if len(env_name) > 12:
        raise EnvCreateError(
            f"--pr {request.pull_request}: environment name {env_name!r} is over 12 characters"
        )
    salt = request.salt or secrets.token_hex(3)
    created = Created(stack=stack, path=target, spec=source_spec, renamed={})
    created.dropped = _environment(config, request, env_name, salt)
    created.renamed = rename_endpoints(
        [e.name for e in source_spec.online_endpoints]
        + [e.name for e in source_spec.batch_endpoints],
        source_env=source_spec.environment.name,
        env=env_name,
        salt=salt,
    )
    _rename(config, "amlkit:online_endpoints", source_spec, created.renamed)
    _rename(config, "amlkit:batch_endpoints", source_spec, created.renamed)
    if request.profile is not None:
        pipelines = frozenset(
            (e, d)
            for e, endpoint in enumerate(source_spec.batch_endpoints)
            for d, deployment in enumerate(endpoint.deployments)
            if isinstance(deployment, PipelineBatchDeploymentSpec)
        )
        created.changes = apply_profile(config, PROFILES[request.profile], _as_entry, pipelines)
    created.secure_values = stack_yaml.secure_paths(config)
    header = (
        f"# Test environment {stack}: amlkit env create --from {request.source} "
        f"--pr {request.pull_request} at {iso_utc(request.now)}; due for teardown at "
        f"{iso_utc(request.now + timedelta(hours=request.ttl_hours))}.\n"
        f"# Copied from Pulumi.{request.source}.yaml, whose comments follow.\n"
    )
    text = header + stack_yaml.dump(doc)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    try:
        partial.replace(target)
        created.spec = load_stack_spec(project.stacks_dir, stack)
    except ConfigError:
        target.unlink(missing_ok=True)
        raise
    return created


def _environment(
    config: MutableMapping[str, Any], request: CreateRequest, env_name: str, salt: str
) -> list[str]:
    env = config["amlkit:environment"]
    dropped = []
    env["name"] = env_name
    for key, why in (("resource_group", "the default carries the environment name"),):
        if key in env:
            dropped.append(f"environment.{key} {env.pop(key)!r} ({why})")
    workspace = config.get("amlkit:workspace")
    if isinstance(workspace, MutableMapping) and "name" in workspace:
        dropped.append(f"workspace.name {workspace.pop('name')!r} (Azure keeps it 14 days)")
    env["protect"] = False
    env["salt"] = salt
    expires = request.now + timedelta(hours=request.ttl_hours)
    ephemeral = CommentedMap()
    ephemeral["ttl_hours"] = request.ttl_hours
    ephemeral["expires_at"] = DoubleQuotedScalarString(iso_utc(expires))
    ephemeral["source"] = request.source
    ephemeral["pull_request"] = request.pull_request
    env["ephemeral"] = ephemeral
    return dropped


def _rename(
    config: MutableMapping[str, Any], key: str, spec: StackSpec, renamed: dict[str, str]
) -> None:
    endpoints: Sequence[OnlineEndpointSpec | BatchEndpointSpec] = (
        spec.online_endpoints if key == "amlkit:online_endpoints" else spec.batch_endpoints
    )
    items = config.get(key) or []
    for index, endpoint_spec in enumerate(endpoints):
        entry = _as_entry(items[index])
        if entry is None:
            continue
        items[index] = entry
        new = renamed[endpoint_spec.name]
        entry["name"] = new
        for d_index, linked in enumerate(_names_endpoint(endpoint_spec)):
            if not linked:
                continue
            deployments = entry["deployments"]
            deployment = _as_entry(deployments[d_index])
            if deployment is not None:
                deployments[d_index] = deployment
                deployment["endpoint_name"] = new


def _names_endpoint(endpoint: OnlineEndpointSpec | BatchEndpointSpec) -> list[bool]:
    """Which deployments say `endpoint_name` (they must follow the rename)."""
    if isinstance(endpoint, OnlineEndpointSpec):
        return [d.endpoint_name is not None for d in endpoint.deployments]
    return [d.endpoint_name is not None for d in endpoint.deployments]


def _as_entry(item: Any) -> MutableMapping[str, Any] | None:
    """A list item as a mapping that takes overrides: `path.yml` -> `{file: path.yml}`."""
    if isinstance(item, str):
        entry = CommentedMap()
        entry["file"] = item
        return entry
    return item if isinstance(item, MutableMapping) else None
