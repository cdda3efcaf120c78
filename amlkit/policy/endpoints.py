"""Endpoint and deployment names, and how callers authenticate (rules 4 and 7)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .base import (
    BATCH_DEPLOYMENT,
    BATCH_ENDPOINT,
    COMPUTE,
    MANDATORY,
    ONLINE_DEPLOYMENT,
    ONLINE_ENDPOINT,
    WORKSPACE,
    Anchor,
    get,
    is_kubernetes,
    resource_rule,
    setting,
)

_ENDPOINT = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_COMPUTE = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]*$")
_WORKSPACE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")

# (input holding the name, pattern, min, max) per type.
_NAMES: dict[str, tuple[str, re.Pattern[str], int, int]] = {
    ONLINE_ENDPOINT: ("endpointName", _ENDPOINT, 3, 32),
    BATCH_ENDPOINT: ("endpointName", _ENDPOINT, 3, 32),
    ONLINE_DEPLOYMENT: ("deploymentName", _ENDPOINT, 3, 32),
    BATCH_DEPLOYMENT: ("deploymentName", _ENDPOINT, 3, 32),
    COMPUTE: ("computeName", _COMPUTE, 2, 16),
    WORKSPACE: ("workspaceName", _WORKSPACE, 3, 33),
}


@resource_rule(
    name="aml-names",
    description="Endpoint and deployment names are 3-32 characters of letters, digits and "
    "inner hyphens, starting with a letter; Kubernetes endpoint + deployment names total "
    "6-62; compute names 2-16; workspace names 3-33.",
    anchor=Anchor(
        "azure-doc",
        "azureml/how-to-manage-quotas#azure-machine-learning-online-endpoints-and-batch-endpoints",
    ),
    fix="rename the resource within Azure's limits (a rename replaces it: move traffic first)",
    level=MANDATORY,
    types=tuple(_NAMES),
)
def names(args: ResourceValidationArgs) -> Iterator[str]:
    key, pattern, low, high = _NAMES[args.resource_type]
    value = get(args.props, key)
    if not isinstance(value, str) or not value:
        yield f"{key} is not set: Azure ML names are not auto-generated, set one explicitly"
        return
    if not low <= len(value) <= high:
        yield f"{key} {value!r} has {len(value)} characters (allowed {low}-{high})"
    if not pattern.match(value):
        yield f"{key} {value!r} does not match {pattern.pattern}"
    if args.resource_type == ONLINE_DEPLOYMENT and is_kubernetes(args.props):
        endpoint = get(args.props, "endpointName")
        if isinstance(endpoint, str) and not 6 <= len(endpoint) + len(value) <= 62:
            yield (
                f"Kubernetes endpoint + deployment name {endpoint!r} + {value!r} total "
                f"{len(endpoint) + len(value)} characters (allowed 6-62)"
            )


_TOKEN_MODES = {"amltoken", "aadtoken"}


@resource_rule(
    name="aml-endpoint-token-auth",
    description="Online and batch endpoints authenticate callers with Azure ML or Microsoft "
    "Entra tokens (AMLToken, AADToken); keys never expire, so Key needs a waiver.",
    anchor=Anchor(
        "azure-doc",
        "azureml/how-to-safely-rollout-online-endpoints (endpoint attributes: auth_mode)",
    ),
    fix="set auth_mode: aml_token (or aad_token) on the endpoint; to keep key auth, list the "
    "endpoint under allowKeyAuth in the policy pack config, with a reason",
    level=MANDATORY,
    types=(ONLINE_ENDPOINT, BATCH_ENDPOINT),
    config={
        "allowKeyAuth": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Endpoint names waived to use key auth.",
        }
    },
)
def endpoint_token_auth(args: ResourceValidationArgs) -> Iterator[str]:
    mode = get(args.props, "properties.authMode")
    if mode is None:
        yield "properties.authMode is not set (Azure's default for online endpoints is Key)"
        return
    if str(mode).lower() in _TOKEN_MODES:
        return
    waived = setting(args, "allowKeyAuth", [])
    if str(mode).lower() == "key" and get(args.props, "endpointName") in waived:
        return
    yield f"properties.authMode is {mode!r}; keys never expire (allowed: AMLToken, AADToken)"
