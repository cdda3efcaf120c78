"""Logs and telemetry: every endpoint and the workspace wired to them (rule 16, over the
whole stack), and how long logs stay (rule 17)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from .base import (
    ADVISORY,
    APP_INSIGHTS,
    DIAGNOSTIC_SETTING,
    LOG_ANALYTICS,
    MANDATORY,
    ONLINE_DEPLOYMENT,
    ONLINE_ENDPOINT,
    WORKSPACE,
    Anchor,
    Found,
    explicit,
    get,
    name_of,
    num,
    of_type,
    resource_rule,
    setting,
    stack_rule,
)


@resource_rule(
    name="log-analytics-retention",
    description="Log Analytics keeps logs at least the configured number of days (Azure's "
    "default of 30 is short for audits) and accepts Entra-authenticated ingestion only.",
    anchor=Anchor(
        "azure-policy",
        "e15effd4 (local auth); Azure Monitor data retention doc",
    ),
    fix="set workspace.log_analytics.retention_in_days to at least minimumRetentionDays in the "
    "stack config; features.disableLocalAuth: true",
    level=ADVISORY,
    types=(LOG_ANALYTICS,),
    config={"minimumRetentionDays": {"type": "integer", "minimum": 30, "default": 90}},
)
def log_retention(args: ResourceValidationArgs) -> Iterator[str]:
    minimum = int(setting(args, "minimumRetentionDays", 90))
    days = num(get(args.props, "retentionInDays"))
    if days is None:
        yield f"retentionInDays is not set (Azure keeps 30 days; at least {minimum} wanted)"
    elif days < minimum:
        yield f"retentionInDays is {days} (at least {minimum})"
    problem = explicit(args.props, "features.disableLocalAuth", True)
    if problem:
        yield problem


def _diagnostic_targets(resources: Iterable[PolicyResource]) -> set[str]:
    """Lower-cased resource ids that have a diagnostic setting sending to Log Analytics."""
    targets = set()
    for s in of_type(resources, DIAGNOSTIC_SETTING):
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
    for d in of_type(resources, ONLINE_DEPLOYMENT):
        if get(d.props, "properties.appInsightsEnabled") is not True:
            yield f"deployment {d.name}: properties.appInsightsEnabled is not true", d.urn
    for c in of_type(resources, APP_INSIGHTS):
        if not get(c.props, "workspaceResourceId"):
            yield f"{c.name}: workspaceResourceId is not set (classic App Insights)", c.urn
        if get(c.props, "disableLocalAuth") is not True:
            yield f"{c.name}: disableLocalAuth is not true", c.urn
    targets = _diagnostic_targets(resources)
    for w in of_type(resources, WORKSPACE):
        if not get(w.props, "applicationInsights"):
            yield f"workspace {w.name}: applicationInsights is not set", w.urn
        name = name_of(w.props, "workspaceName") or ""
        if not _sends_logs(targets, ("workspaces", name)):
            yield f"workspace {name}: no diagnostic setting sends its logs to Log Analytics", w.urn
    for e in of_type(resources, ONLINE_ENDPOINT):
        workspace = get(e.props, "workspaceName")
        parts: tuple[str, ...] = ("workspaces", str(workspace)) if workspace else ()
        name = name_of(e.props, "endpointName") or ""
        if not _sends_logs(targets, (*parts, "onlineendpoints", name)):
            yield (
                f"online endpoint {name}: no diagnostic setting sends its logs to Log Analytics",
                e.urn,
            )
