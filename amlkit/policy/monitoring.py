"""How long logs stay, and who may write them (rule 17)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .base import (
    ADVISORY,
    LOG_ANALYTICS,
    Anchor,
    explicit,
    get,
    num,
    resource_rule,
    setting,
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
