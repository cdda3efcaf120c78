"""Render a stack offline: the stack program under Pulumi's mock engine, as JSON.

No Pulumi CLI, cloud or credentials are needed. The document is the contract of
DESIGN.md ("Plan JSON"): resources with type, name, parent, protect, dependsOn
and camelCase inputs as the engine receives them; secrets as "[secret]".
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

from amlkit.components.durations import iso_seconds
from amlkit.cost.estimate import attach as attach_cost
from amlkit.cost.prices import load_snapshot
from amlkit.specs import StackSpec
from amlkit.specs.project import Project
from amlkit.specs.rollout import AZURE_MONITOR_LAG
from amlkit.specs.stack_config import (
    read_stack_config,
    secret_keys,
    stack_file,
)

from .differences import notices
from .mock_engine import Recording, Registration, run_program

PROVIDER_INPUT = "__provider"  # a dynamic resource's pickled provider: code, not a plan value
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
SIG = "4dabf18193072939515e22adb298388d"


def render(project: Project, stack: str) -> Recording:
    """Run the stack program with the stack's config under the mock engine."""
    path = stack_file(project.stacks_dir, stack)
    program = project.main / "__main__.py"
    return run_program(
        lambda: runpy.run_path(str(program), run_name="__main__"),
        project=project.name,
        stack=stack,
        config=read_stack_config(path),
        secret_keys=secret_keys(path),
    )


def plan_document(
    project: Project, stack: str, recording: Recording, spec: StackSpec | None = None
) -> dict[str, Any]:
    """The plan; each resource with a price carries its month under `cost`, and the
    document its total and the price snapshot's date (amlkit.cost); `rollouts` holds each
    endpoint's `rollout:` with its times; `notices` lists each deliberate difference from
    `az ml` on the resources it affects (amlkit.plan.differences). `spec` is the stack's,
    loaded here when not given."""
    document: dict[str, Any] = {
        "stack": stack,
        "project": project.name,
        "resources": [_resource(r, project.root) for r in recording.resources],
        "outputs": _relative(recording.outputs, project.root),
        # Filled by the policy pack's rules (issue "Policy checks before every deploy").
        "policy": {"violations": []},
    }
    spec = spec or project.load_spec(stack)
    document["rollouts"] = rollout_plans(spec)
    document["notices"] = notices(spec, document)
    attach_cost(document, load_snapshot())
    return document


def plan_json(document: dict[str, Any]) -> str:
    """The plan as the text `--json` writes (`amlkit.cli.output` writes it atomically)."""
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def _resource(r: Registration, root: Path) -> dict[str, Any]:
    inputs = {k: v for k, v in r.inputs.items() if k != PROVIDER_INPUT}
    return {
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "parent": r.parent,
        "protect": r.protect,
        "dependsOn": r.depends_on,
        "inputs": _relative(_assets(inputs), root),
    }


def _assets(value: Any) -> Any:
    """Pulumi assets and archives as `{"asset": path}` / `{"archive": path}`."""
    if isinstance(value, dict):
        if value.get(SIG) == ASSET_SIG:
            return {"asset": value.get("path") or value.get("uri") or "[text]"}
        if value.get(SIG) == ARCHIVE_SIG:
            return {"archive": value.get("path") or value.get("uri") or "[assets]"}
        return {k: _assets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_assets(v) for v in value]
    return value


def _relative(value: Any, root: Path) -> Any:
    """Local paths relative to the project, so a plan reads the same on every machine."""
    prefix = str(root) + "/"
    if isinstance(value, str):
        return value.replace(prefix, "")
    if isinstance(value, dict):
        return {k: _relative(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v, root) for v in value]
    return value


def rollout_plans(spec: StackSpec) -> list[dict[str, Any]]:
    """Each online endpoint's `rollout:` as the plan carries it: the section as written
    (durations ISO-8601), the candidate's share at each step, and the least time a
    healthy rollout takes to promote and the longest a bad candidate keeps its share
    before it is rolled back (from the section; an unset `metrics_lag` counts as
    Azure Monitor's usual 3 minutes, the Azure target's default)."""
    plans = []
    for endpoint in spec.online_endpoints:
        rollout = endpoint.rollout
        if rollout is None:
            continue
        promote = rollout.minimum_to_promote(AZURE_MONITOR_LAG)
        back = rollout.time_to_roll_back(AZURE_MONITOR_LAG)
        plans.append(
            {
                "endpoint": endpoint.name,
                "candidate": rollout.candidate,
                "baseline": endpoint.rollout_baseline(),
                "steps": list(rollout.percents()),
                "minimum_to_promote": iso_seconds(promote.total_seconds()),
                "time_to_roll_back": iso_seconds(back.total_seconds()),
                "section": rollout.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
        )
    return plans
