"""A rollout against an online endpoint on Azure: `connect` builds the rollout target
from its three parts, one module each:

- `traffic.py`: the split, read and written through ARM by the traffic resource's own
  provider;
- `monitor.py`: each deployment's readings from Azure Monitor;
- `prober.py`: smoke requests to the endpoint's scoring URI, authorised as its
  `auth_mode` asks.

`endpoint.py` names the endpoint (from the stack, with the stack program's physical
names) and holds the error every part raises.

Who may do this: Monitoring Reader on the endpoint (metrics), and an Azure ML role
that may write online endpoints and read their keys (AzureML Data Scientist or a
custom role with `.../onlineEndpoints/write`, `.../onlineEndpoints/listKeys/action`,
`.../onlineEndpoints/token/action`).
"""

from __future__ import annotations

import os
from datetime import timedelta

from azure.core.credentials import TokenCredential

from amlkit.components.dynamic.arm_client import PUBLIC_CLOUD, ArmClient
from amlkit.components.dynamic.endpoint_setting import ARM_ENDPOINT_VARIABLE, default_credential
from amlkit.specs.stack import StackSpec

from ..sources import Target
from .endpoint import AzureEndpoint, AzureTargetError
from .monitor import Answer, MonitorMetrics, Series, read_window, series
from .prober import EndpointProber
from .traffic import ArmTraffic

__all__ = [
    "Answer",
    "ArmTraffic",
    "AzureEndpoint",
    "AzureTargetError",
    "EndpointProber",
    "MonitorMetrics",
    "Series",
    "connect",
    "connect_endpoint",
    "read_window",
    "series",
]

SUBSCRIPTION_VARIABLES = ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID")
"""Where the subscription comes from when not given (azure-native reads the first)."""


def connect(
    stack: StackSpec,
    endpoint: str,
    *,
    subscription_id: str | None = None,
    credential: TokenCredential | None = None,
    arm_endpoint: str | None = None,
    metrics_lag: timedelta = timedelta(minutes=3),
) -> Target:
    """A rollout target for the stack's online endpoint `endpoint` on Azure.

    `subscription_id`: default $ARM_SUBSCRIPTION_ID, else $AZURE_SUBSCRIPTION_ID (the
    stack spec does not hold it; azure-native reads the same variable).
    `credential`: default azure-identity's DefaultAzureCredential.
    `arm_endpoint`: default $AMLKIT_ARM_ENDPOINT, else public Azure; Azure Monitor's
    metrics API is served by ARM, so the same base URL serves both.
    `metrics_lag`: how late Azure Monitor's minutes are complete (the spec's
    `metrics_lag`); default 3 minutes, Azure Monitor's usual ingestion delay."""
    subscription = subscription_id or next(
        (os.environ[v] for v in SUBSCRIPTION_VARIABLES if os.environ.get(v)), None
    )
    if not subscription:
        raise AzureTargetError(
            "no Azure subscription: set ARM_SUBSCRIPTION_ID (as for azure-native) or "
            "AZURE_SUBSCRIPTION_ID"
        )
    where = AzureEndpoint.of(stack, endpoint, subscription)
    return connect_endpoint(
        where, credential=credential, arm_endpoint=arm_endpoint, metrics_lag=metrics_lag
    )


def connect_endpoint(
    endpoint: AzureEndpoint,
    *,
    credential: TokenCredential | None = None,
    arm_endpoint: str | None = None,
    metrics_lag: timedelta = timedelta(minutes=3),
) -> Target:
    """`connect` for an endpoint named outright (defaults as there)."""
    token = credential or default_credential()
    base_url = (arm_endpoint or os.environ.get(ARM_ENDPOINT_VARIABLE) or PUBLIC_CLOUD).rstrip("/")
    arm = ArmClient(token, base_url)
    return Target(
        traffic=ArmTraffic(endpoint, token, base_url),
        metrics=MonitorMetrics(endpoint, token, base_url, metrics_lag),
        prober=EndpointProber(endpoint, arm, token),
        where=f"azure {endpoint.id}",
    )
