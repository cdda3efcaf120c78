"""Alerts and where they go. Diagnostic settings are always on: every online
endpoint and the workspace send their logs to the stack's Log Analytics."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, StrictInt, StringConstraints, model_validator

from .base import Spec
from .secrets import NotPlaceholderSecret
from .types import Flag, Percent, PositiveInt

ReceiverName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_. ]{0,127}$")]


class EmailReceiver(Spec):
    name: ReceiverName
    email_address: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def _web_address(uri: SecretStr) -> SecretStr:
    # The value is never shown: a webhook address often carries its token.
    if not uri.get_secret_value().startswith(("https://", "http://")):
        raise ValueError("must be an http(s):// address")
    return uri


class WebhookReceiver(Spec):
    name: ReceiverName
    service_uri: Annotated[NotPlaceholderSecret, AfterValidator(_web_address)]
    """Often carries a token: set it with `pulumi config set --secret`."""


class AlertThresholds(Spec):
    """Metric alerts per online endpoint and deployment; `null` turns one off."""

    request_latency_ms: PositiveInt | None = 1000
    """Endpoint average RequestLatency over the window."""
    server_errors_per_minute: PositiveInt | None = 5
    """5xx answers a minute (RequestsPerMinute, statusCodeClass 5xx)."""
    cpu_percent: Percent | None = 85
    """Deployment CpuUtilizationPercentage."""
    memory_percent: Percent | None = 85
    """Deployment CpuMemoryUtilizationPercentage."""
    capacity_below_requested: Flag = True
    """Alert when a deployment runs fewer instances than it asked for (DeploymentCapacity)."""
    window_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] = 5
    frequency_minutes: Annotated[StrictInt, Field(ge=1, le=60)] = 1
    severity: Annotated[StrictInt, Field(ge=0, le=4)] = 2

    @model_validator(mode="after")
    def _frequency_within_window(self) -> AlertThresholds:
        if self.frequency_minutes > self.window_minutes:
            raise ValueError(
                f"frequency_minutes ({self.frequency_minutes}) is above window_minutes "
                f"({self.window_minutes})"
            )
        return self


class ActionGroupSpec(Spec):
    short_name: Annotated[str, StringConstraints(min_length=1, max_length=12)] = "amlkit"
    email_receivers: tuple[EmailReceiver, ...] = ()
    webhook_receivers: tuple[WebhookReceiver, ...] = ()

    @model_validator(mode="after")
    def _receiver_names_unique(self) -> ActionGroupSpec:
        # "Name: a unique identifier within the action group" (Azure Monitor's action
        # groups doc): email and webhook receivers share one namespace.
        names = [r.name for r in self.email_receivers] + [r.name for r in self.webhook_receivers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"receiver names {duplicates} appear more than once; each receiver of an "
                "action group needs its own name"
            )
        return self


class MonitoringSpec(Spec):
    alerts: AlertThresholds = AlertThresholds()
    action_group: ActionGroupSpec = ActionGroupSpec()
