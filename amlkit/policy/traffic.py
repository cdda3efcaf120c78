"""Traffic splits, mirrors, removed deployments and safe rollouts, over the whole stack
(rules 1, 2, 3 and 26).

Under `pulumi preview --policy-pack policy` these run as stack policies over the
resources' outputs; offline, over the plan's inputs. Both shapes carry the
fields read here (`endpointName`, `traffic`, `properties.traffic`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)

from amlkit.specs.errors import ConfigError
from amlkit.specs.loader import load_plan_resources

from .base import (
    ENDPOINT_TRAFFIC,
    MANDATORY,
    ONLINE_DEPLOYMENT,
    ONLINE_ENDPOINT,
    Anchor,
    Found,
    NotApplicable,
    get,
    is_kubernetes,
    name_of,
    of_type,
    setting,
    shown,
    stack_rule,
)


@dataclass(frozen=True)
class TrafficMap:
    endpoint: str
    traffic: Mapping[str, Any]
    mirror: Mapping[str, Any]
    urn: str


def traffic_maps(resources: Iterable[PolicyResource]) -> list[TrafficMap]:
    """Every traffic split in the stack: on an OnlineEndpoint (`properties.traffic`) or on
    the resource that applies it (any resource with `endpointName` and `traffic`, as
    inputs or outputs: amlkit's OnlineEndpointTraffic, or whatever replaces it)."""
    maps = []
    for r in resources:
        if r.resource_type == ONLINE_ENDPOINT:
            traffic = get(r.props, "properties.traffic")
            mirror = get(r.props, "properties.mirrorTraffic")
            name = name_of(r.props, "endpointName")
        elif isinstance(get(r.props, "endpointName"), str) and "traffic" in r.props:
            # Inputs say mirrorTraffic; a component's registered outputs mirror_traffic.
            traffic = get(r.props, "traffic")
            mirror = get(r.props, "mirrorTraffic", get(r.props, "mirror_traffic"))
            name = get(r.props, "endpointName")
        else:
            continue
        if (traffic or mirror) and name:
            maps.append(TrafficMap(name, traffic or {}, mirror or {}, r.urn))
    return maps


def deployments_by_endpoint(resources: Iterable[PolicyResource]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for d in of_type(resources, ONLINE_DEPLOYMENT):
        endpoint = get(d.props, "endpointName")
        name = name_of(d.props, "deploymentName")
        if isinstance(endpoint, str) and name:
            found.setdefault(endpoint, set()).add(name)
    return found


def _percent(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if float(value).is_integer() and 0 <= value <= 100:
        return int(value)
    return None


@stack_rule(
    name="aml-endpoint-traffic",
    description="An online endpoint's traffic values are whole percentages 0-100 that sum to 0 "
    "or 100, and every key names a deployment of that endpoint in this stack.",
    anchor=Anchor(
        "azure-doc",
        "azureml/how-to-safely-rollout-online-endpoints (traffic); azure-ai-ml OnlineEndpoint schema",
    ),
    fix="make the endpoint's traffic name only its own deployments, in whole percentages "
    "summing to 100 (or 0)",
    level=MANDATORY,
)
def endpoint_traffic(args: StackValidationArgs) -> Found:
    deployments = deployments_by_endpoint(args.resources)
    for m in traffic_maps(args.resources):
        values = {k: _percent(v) for k, v in m.traffic.items()}
        for key, value in values.items():
            if value is None:
                yield (
                    f"{m.endpoint}: traffic[{key!r}] is {shown(m.traffic[key])!r} (a whole number 0-100)",
                    m.urn,
                )
        total = sum(v for v in values.values() if v is not None)
        if all(v is not None for v in values.values()) and total not in (0, 100):
            yield f"{m.endpoint}: traffic sums to {total} (Azure takes 0 or 100)", m.urn
        known = deployments.get(m.endpoint, set())
        for key in m.traffic:
            if key not in known:
                yield (
                    f"{m.endpoint}: traffic names {key!r}, which is not a deployment of this "
                    f"endpoint (deployments: {sorted(known) or 'none'})",
                    m.urn,
                )


@stack_rule(
    name="aml-endpoint-mirror-traffic",
    description="Mirrored traffic goes to one deployment at most, at most 50%, never to a "
    "deployment with live traffic, and never on a Kubernetes endpoint.",
    anchor=Anchor(
        "azure-doc", "azureml/how-to-safely-rollout-online-endpoints (mirroring limitations)"
    ),
    fix="mirror to a single deployment with 0% live traffic, at most 50%, on a managed endpoint",
    level=MANDATORY,
)
def endpoint_mirror_traffic(args: StackValidationArgs) -> Found:
    kubernetes = {
        name_of(e.props, "endpointName")
        for e in of_type(args.resources, ONLINE_ENDPOINT)
        if is_kubernetes(e.props)
    }
    deployments = deployments_by_endpoint(args.resources)
    for m in traffic_maps(args.resources):
        if not m.mirror:
            continue
        if m.endpoint in kubernetes:
            yield f"{m.endpoint}: mirror traffic on a Kubernetes endpoint", m.urn
        if len(m.mirror) > 1:
            yield (
                f"{m.endpoint}: mirror traffic names {len(m.mirror)} deployments (at most 1)",
                m.urn,
            )
        for key, value in m.mirror.items():
            percent = _percent(value)
            if percent is None or percent > 50:
                yield f"{m.endpoint}: mirror_traffic[{key!r}] is {shown(value)!r} (0-50)", m.urn
            if (_percent(m.traffic.get(key)) or 0) > 0:
                yield f"{m.endpoint}: {key!r} gets mirrored and live traffic at once", m.urn
            if key not in deployments.get(m.endpoint, set()):
                yield (
                    f"{m.endpoint}: mirror traffic names {key!r}, which is not a deployment",
                    m.urn,
                )


ERROR_GATES = frozenset({"error_rate"})
"""Gate metrics that watch failures (amlkit.specs.rollout.ERROR_METRICS)."""


@stack_rule(
    name="aml-endpoint-safe-rollout",
    description="An online endpoint with more than one deployment declares a `rollout:` "
    "with at least one error gate and on_failure: rollback, so a new deployment takes "
    "traffic by `amlkit rollout`, watched, and is rolled back when it fails.",
    anchor=Anchor(
        "azure-doc",
        "azureml/how-to-safely-rollout-online-endpoints; amlkit README (Safe rollout)",
    ),
    fix="add a `rollout:` section to the endpoint in the stack config with a gate on "
    "error_rate and on_failure: rollback, and move traffic with `amlkit rollout`",
    level=MANDATORY,
)
def endpoint_safe_rollout(args: StackValidationArgs) -> Found:
    for r in of_type(args.resources, ENDPOINT_TRAFFIC):
        deployments = get(r.props, "deployments") or []
        if isinstance(deployments, str) or not isinstance(deployments, Sequence):
            continue
        if len(deployments) < 2:
            continue
        endpoint = name_of(r.props, "endpointName") or r.name
        rollout = get(r.props, "rollout")
        if not isinstance(rollout, Mapping):
            yield (
                f"{endpoint}: {len(deployments)} deployments ({', '.join(map(str, deployments))}) "
                "and no `rollout:` section",
                r.urn,
            )
            continue
        gates = rollout.get("gates") or []
        gates = [] if isinstance(gates, str) or not isinstance(gates, Sequence) else list(gates)
        if not ERROR_GATES.intersection(gates):
            yield (
                f"{endpoint}: rollout has no error gate (gates: {', '.join(map(str, gates)) or 'none'}); "
                "add one on error_rate",
                r.urn,
            )
        if rollout.get("onFailure") != "rollback":
            yield (
                f"{endpoint}: rollout on_failure is {rollout.get('onFailure')!r}; "
                "set on_failure: rollback",
                r.urn,
            )


_NO_OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _previous_plan(path: str) -> list[PolicyResource]:
    """The resources of a plan JSON (`amlkit plan --json`), as policy resources."""
    return [
        PolicyResource(
            r["type"], r.get("inputs") or {}, r["urn"], r["name"], _NO_OPTIONS, None, None, [], {}
        )
        for r in load_plan_resources(Path(path))
    ]


@stack_rule(
    name="aml-deployment-delete-live-traffic",
    description="A deployment that leaves the stack had 0% live traffic in the previous state: "
    "Azure refuses to delete a deployment that serves traffic.",
    anchor=Anchor(
        "azure-doc",
        "azureml/how-to-safely-rollout-online-endpoints (cannot delete a deployment with live traffic)",
    ),
    fix="first deploy a traffic split that gives the deployment 0%, then remove it",
    level=MANDATORY,
    config={
        "previousPlan": {
            "type": "string",
            "description": "Plan JSON of the deployed state (`amlkit plan --json` of the last "
            "deployed commit); without it the rule is not applicable.",
        }
    },
)
def delete_live_traffic(args: StackValidationArgs) -> Found:
    path = setting(args, "previousPlan", None)
    if not path:
        raise NotApplicable(
            "no previous state: a stack policy sees only the new state; pass the deployed "
            "plan as previousPlan (amlkit plan --previous FILE)"
        )
    try:
        before = _previous_plan(str(path))
    except ConfigError as error:
        yield f"cannot decide: previous plan {error}", None
        return
    now = deployments_by_endpoint(args.resources)
    live = {m.endpoint: m.traffic for m in traffic_maps(before)}
    for endpoint, names in deployments_by_endpoint(before).items():
        for name in sorted(names - now.get(endpoint, set())):
            percent = _percent(live.get(endpoint, {}).get(name)) or 0
            if percent > 0:
                yield (
                    f"{endpoint}/{name} is removed while it serves {percent}% of live traffic",
                    None,
                )
