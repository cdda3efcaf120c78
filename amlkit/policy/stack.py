"""Rules that need the whole stack at once (rules 1, 2, 3, 10, 16 and 21).

Under `pulumi preview --policy-pack policy` these run as stack policies over the
resources' outputs; offline, over the plan's inputs. Both shapes carry the
fields read here (`endpointName` or `name`, `properties.*`, ids or dependencies).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)

from .base import (
    APP_INSIGHTS,
    COMPUTE,
    DIAGNOSTIC_SETTING,
    MANDATORY,
    ONLINE_DEPLOYMENT,
    ONLINE_ENDPOINT,
    ROLE_ASSIGNMENT,
    USER_ASSIGNED_IDENTITY,
    WORKSPACE,
    Anchor,
    NotApplicable,
    get,
    is_kubernetes,
    lower,
    name_of,
    setting,
    shown,
    stack_rule,
)

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
FORBIDDEN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}

Found = Iterator[tuple[str, str | None]]


def _of(resources: Iterable[PolicyResource], typ: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == typ]


# -- traffic ---------------------------------------------------------------------------


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
    for d in _of(resources, ONLINE_DEPLOYMENT):
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
        for e in _of(args.resources, ONLINE_ENDPOINT)
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


# -- deletes -----------------------------------------------------------------------------


_NO_OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _previous_plan(path: str) -> list[PolicyResource]:
    """The resources of a plan JSON (`amlkit plan --json`), as policy resources."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        PolicyResource(
            r["type"], r.get("inputs") or {}, r["urn"], r["name"], _NO_OPTIONS, None, None, [], {}
        )
        for r in document.get("resources", [])
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
    except (OSError, ValueError, KeyError, TypeError) as error:
        yield f"cannot decide: previous plan {path!r} is not readable ({error})", None
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


# -- identities ------------------------------------------------------------------------------


def _role_id(assignment: PolicyResource) -> str:
    return str(get(assignment.props, "roleDefinitionId") or "").rsplit("/", 1)[-1].lower()


def _assigned_to(assignment: PolicyResource, holder: PolicyResource) -> bool:
    """The assignment's principal is `holder`'s identity: same principalId when both are
    known (state), else the assignment depends on `holder` (its principalId came from it)."""
    mine = get(assignment.props, "principalId")
    theirs = get(holder.props, "principalId") or get(holder.props, "identity.principalId")
    if isinstance(mine, str) and isinstance(theirs, str) and mine and theirs:
        return mine == theirs
    return holder in assignment.dependencies or holder.urn in {
        d.urn for ds in assignment.property_dependencies.values() for d in ds
    }


def _identity_ids(props: Any) -> list[str]:
    ids = get(props, "identity.userAssignedIdentities") or []
    return [str(i) for i in (ids.keys() if isinstance(ids, Mapping) else ids)]


def _pullers(resources: list[PolicyResource]) -> Iterator[tuple[str, PolicyResource | None, str]]:
    """(who, the resource holding the identity or None when outside the stack, urn) for
    every identity that pulls images: online endpoints' and compute clusters'."""
    identities = {
        (name_of(i.props, "resourceName") or "").lower(): i
        for i in _of(resources, USER_ASSIGNED_IDENTITY)
    }
    for r in _of(resources, ONLINE_ENDPOINT) + _of(resources, COMPUTE):
        who = f"{r.resource_type.rsplit(':', 1)[-1]} {r.name}"
        kind = lower(get(r.props, "identity.type")) or ""
        if "systemassigned" in kind.replace(",", "").replace(" ", ""):
            yield f"{who} (system-assigned identity)", r, r.urn
        for rid in _identity_ids(r.props):
            yield (
                f"{who} (identity {rid.rsplit('/', 1)[-1]})",
                identities.get(rid.rsplit("/", 1)[-1].lower()),
                r.urn,
            )


@stack_rule(
    name="iam-least-privilege",
    description="Role assignments never grant Owner, Contributor or User Access Administrator, "
    "never at subscription scope, always to a service principal; AcrPull only on a registry; "
    "and every identity that pulls images (endpoints, compute) holds AcrPull.",
    anchor=Anchor("checkov", "CKV_AZURE_39; azure-policy a451c1ef; Azure built-in role ids"),
    fix="grant the narrow built-in role on the one resource that needs it (identities: roles: "
    "in the stack config); give every endpoint and compute identity AcrPull on the registry",
    level=MANDATORY,
)
def iam_least_privilege(args: StackValidationArgs) -> Found:
    assignments = _of(args.resources, ROLE_ASSIGNMENT)
    for a in assignments:
        role = _role_id(a)
        scope = str(get(a.props, "scope") or "")
        if role in FORBIDDEN_ROLES:
            yield f"{a.name} grants {FORBIDDEN_ROLES[role]}", a.urn
        if not scope:
            yield f"{a.name}: scope is not set", a.urn
        elif re.fullmatch(r"/subscriptions/[^/]+/?", scope, re.IGNORECASE) or scope == "/":
            yield f"{a.name}: scope {scope!r} is a whole subscription", a.urn
        if lower(get(a.props, "principalType")) != "serviceprincipal":
            yield (
                f"{a.name}: principalType is {get(a.props, 'principalType')!r} (ServicePrincipal)",
                a.urn,
            )
        if role == ACR_PULL and "/microsoft.containerregistry/registries/" not in scope.lower():
            yield f"{a.name}: AcrPull on {scope!r}, which is not a container registry", a.urn
    pulls = [a for a in assignments if _role_id(a) == ACR_PULL]
    for who, holder, urn in _pullers(list(args.resources)):
        if holder is None:
            yield (
                f"cannot decide: {who} is not created by this stack, so its AcrPull cannot be seen",
                urn,
            )
        elif not any(_assigned_to(a, holder) for a in pulls):
            yield f"{who} has no AcrPull on the registry", urn


# -- monitoring ----------------------------------------------------------------------------------


def _diagnostic_targets(resources: Iterable[PolicyResource]) -> set[str]:
    """Lower-cased resource ids that have a diagnostic setting sending to Log Analytics."""
    targets = set()
    for s in _of(resources, DIAGNOSTIC_SETTING):
        if not get(s.props, "workspaceId"):
            continue
        uri = get(s.props, "resourceUri")
        if not uri:  # state: the setting's id is <resource>/providers/microsoft.insights/...
            uri = str(get(s.props, "id") or "").lower().split("/providers/microsoft.insights/")[0]
        targets.add(str(uri).lower().rstrip("/"))
    return targets


def _sends_logs(targets: set[str], parts: Iterable[str]) -> bool:
    suffix = "/" + "/".join(p.lower() for p in parts)
    return any(t.endswith(suffix) for t in targets)


@stack_rule(
    name="monitoring-wired",
    description="Deployments send to Application Insights; the workspace names its App Insights, "
    "which is workspace-based with local auth off; the workspace and every online endpoint "
    "have a diagnostic setting to Log Analytics.",
    anchor=Anchor("azure-policy", "d550e854 / 199d5677 / 5cfb9e8a / 90c90eda / afe0c3be"),
    fix="set app_insights_enabled: true on deployments; keep amlkit's Monitoring component (it "
    "adds a diagnostic setting per endpoint) and the workspace's App Insights",
    level=MANDATORY,
)
def monitoring_wired(args: StackValidationArgs) -> Found:
    resources = list(args.resources)
    for d in _of(resources, ONLINE_DEPLOYMENT):
        if get(d.props, "properties.appInsightsEnabled") is not True:
            yield f"deployment {d.name}: properties.appInsightsEnabled is not true", d.urn
    for c in _of(resources, APP_INSIGHTS):
        if not get(c.props, "workspaceResourceId"):
            yield f"{c.name}: workspaceResourceId is not set (classic App Insights)", c.urn
        if get(c.props, "disableLocalAuth") is not True:
            yield f"{c.name}: disableLocalAuth is not true", c.urn
    targets = _diagnostic_targets(resources)
    for w in _of(resources, WORKSPACE):
        if not get(w.props, "applicationInsights"):
            yield f"workspace {w.name}: applicationInsights is not set", w.urn
        name = name_of(w.props, "workspaceName") or ""
        if not _sends_logs(targets, ("workspaces", name)):
            yield f"workspace {name}: no diagnostic setting sends its logs to Log Analytics", w.urn
    for e in _of(resources, ONLINE_ENDPOINT):
        workspace = get(e.props, "workspaceName")
        parts: tuple[str, ...] = ("workspaces", str(workspace)) if workspace else ()
        name = name_of(e.props, "endpointName") or ""
        if not _sends_logs(targets, (*parts, "onlineendpoints", name)):
            yield (
                f"online endpoint {name}: no diagnostic setting sends its logs to Log Analytics",
                e.urn,
            )


# -- secrets ---------------------------------------------------------------------------------------

_CREDENTIAL = re.compile(
    r"(password|passwd|secret|token|connection|credential|sas|apikey|api_key|accesskey|"
    r"access_key|accountkey|account_key|privatekey|private_key|(^|[_:.-])key$)",
    re.IGNORECASE,
)
_CAMEL_KEY = re.compile(r"[a-z0-9]Key$")  # primaryKey, storageAccountKey (case-sensitive)
_NOT_CREDENTIAL = re.compile(
    r"(auth_?mode|ssh_?key_?value|public_?key|key_?vault|token_?auth)", re.IGNORECASE
)
_SECRET_TEXT = "[secret]"
STACK_OUTPUTS = "amlkit:plan:StackOutputs"
"""The stack's exports as `amlkit plan` records them (secrets as "[secret]")."""


def _plaintext_credentials(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _plaintext_credentials(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _plaintext_credentials(v, f"{path}[{i}]")
    elif isinstance(value, str) and value and value != _SECRET_TEXT:
        leaf = re.split(r"[.\[]", path)[-1].rstrip("]")
        named = _CREDENTIAL.search(leaf) or _CAMEL_KEY.search(leaf)
        if named and not _NOT_CREDENTIAL.search(leaf):
            yield path


def stack_config() -> tuple[dict[str, Any], set[str]]:
    """This stack's config and its secret keys, as the Pulumi runtime holds them (the
    engine hands both to the policy pack; `amlkit plan` sets them before the rules run)."""
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    for key, text in raw.items():
        try:
            values[key] = json.loads(text)
        except (TypeError, ValueError):
            values[key] = text
    secrets = {k for k in values if pulumi.runtime.is_config_secret(k)}
    return values, secrets


@stack_rule(
    name="secrets-not-plaintext",
    description="No config value that is a credential (a key, password, token, secret or "
    "connection string) is stored in plain text, and no stack output carries one in clear.",
    anchor=Anchor("pulumi", "https://www.pulumi.com/docs/iac/concepts/secrets/"),
    fix="store it with `pulumi config set --secret <key> <value>` (a `secure:` value in the "
    "stack file) and export credentials with pulumi.Output.secret",
    level=MANDATORY,
)
def secrets_not_plaintext(args: StackValidationArgs) -> Found:
    values, secrets = stack_config()
    for key, value in sorted(values.items()):
        if key in secrets:
            continue
        for path in _plaintext_credentials(value, key):
            yield f"config {path} holds a credential in plain text", None
    for r in args.resources:
        # Offline only: the engine hands policies secrets unwrapped, so whether an
        # output is secret cannot be seen from a pack; `amlkit plan` marks them.
        if r.resource_type == STACK_OUTPUTS:
            for path in _plaintext_credentials(dict(r.props), "outputs"):
                yield f"stack output {path} carries a credential in clear", r.urn
