"""Azure Monitor autoscale for one managed online deployment.

Managed online deployments never scale to zero and have no autoscale of their
own: Azure ML's docs attach a `Microsoft.Insights/autoscalesettings` resource to
the deployment, scaling on its CPU and, optionally, request latency.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, model_validator

from .base import Spec
from .types import Flag, Percent, PositiveInt

# Azure Monitor autoscale (its "autoscale best practices" and REST reference): a rule's
# time window 1 minute to 12 hours, a cooldown up to one week, at most 1,000 instances.
Window = Annotated[StrictInt, Field(ge=1, le=720)]
Cooldown = Annotated[StrictInt, Field(ge=1, le=10080)]
Step = Annotated[StrictInt, Field(ge=1, le=10)]
MAX_AUTOSCALE_INSTANCES = 1000


class CpuRule(Spec):
    """Scale out above one CPU level, back in below another."""

    scale_out_above: Percent = 70
    """Average CPU % over the window that adds instances."""
    scale_in_below: Percent = 25
    """Average CPU % over the window that removes instances."""
    window_minutes: Window = 5
    cooldown_minutes: Cooldown = 5
    change_count: Step = 1

    @model_validator(mode="after")
    def _in_below_out(self) -> CpuRule:
        if self.scale_in_below >= self.scale_out_above:
            raise ValueError(
                f"scale_in_below ({self.scale_in_below}) must be under "
                f"scale_out_above ({self.scale_out_above}), or the two rules fight"
            )
        return self


class LatencyRule(Spec):
    """Scale out when the deployment's average request latency rises."""

    scale_out_above_ms: Annotated[StrictInt, Field(ge=1, le=180_000)]
    window_minutes: Window = 5
    cooldown_minutes: Cooldown = 5
    change_count: Step = 1


class AutoscaleSpec(Spec):
    """Instance bounds and rules; Azure Monitor caps a profile at 1,000 instances."""

    min_instances: Annotated[StrictInt, Field(ge=1, le=MAX_AUTOSCALE_INSTANCES)] = 1
    """At least 1: a managed online deployment cannot scale to zero."""
    max_instances: Annotated[StrictInt, Field(ge=1, le=MAX_AUTOSCALE_INSTANCES)] = 5
    default_instances: PositiveInt | None = None
    """Used when metrics are missing; default: min_instances."""
    cpu: CpuRule = CpuRule()
    latency: LatencyRule | None = None
    enabled: Flag = True

    @model_validator(mode="after")
    def _bounds(self) -> AutoscaleSpec:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) is above max_instances ({self.max_instances})"
            )
        default = self.default_instances
        if default is not None and not self.min_instances <= default <= self.max_instances:
            raise ValueError(
                f"default_instances ({default}) must lie between min_instances "
                f"({self.min_instances}) and max_instances ({self.max_instances})"
            )
        return self
