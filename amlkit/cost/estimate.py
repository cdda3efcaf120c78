"""A month of a plan at retail list prices, resource by resource.

What has a standing price, and how it is counted (a month is 730 hours):
- an online deployment (managed): its instance type's hourly price x instances; with
  autoscale, from its minimum to its maximum. Azure holds 20% extra quota back for
  upgrades (Azure ML "manage quotas"): shown as quota, never as cost;
- a compute cluster: its minimum nodes always on, up to its maximum nodes all month;
  the Low Priority meter for `LowPriority` clusters;
- a container registry: its SKU's daily price;
- Log Analytics: retention beyond the included 31 days is billed per GB kept, so it
  is usage based; the rate is shown where the snapshot has it.
Usage based, listed and not estimated: storage, key vault operations, Application
Insights and Log Analytics ingestion, batch jobs (they run on a cluster), data
transfer. A SKU the snapshot has no price for is "no price in snapshot": never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .prices import HOURS_PER_MONTH, Snapshot

BASIS = "retail list price"
QUOTA_HEADROOM = 0.2
INCLUDED_RETENTION_DAYS = 31
NO_PRICE = "no price in snapshot"

_USAGE = {
    "azure-native:storage:StorageAccount": "storage: per GB stored and per operation",
    "azure-native:keyvault:Vault": "key vault: per operation",
    "azure-native:applicationinsights:Component": "Application Insights: per GB ingested",
    "azure-native:machinelearningservices:BatchDeployment": "batch jobs: the cluster's nodes while a job runs",
}


@dataclass
class Estimate:
    """One resource's month: `low`..`high` in the snapshot's currency, or why none."""

    kind: str
    """`fixed`, `range`, `usage` (not estimated) or `unpriced` (no price in snapshot)."""
    low: float | None = None
    high: float | None = None
    detail: str = ""
    quota: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "detail": self.detail}
        if self.low is not None and self.high is not None:
            out["monthly"] = {"min": round(self.low, 2), "max": round(self.high, 2)}
        if self.quota:
            out["quota"] = self.quota
        return out


@dataclass
class PlanCost:
    snapshot: str
    currency: str
    by_urn: dict[str, Estimate] = field(default_factory=dict)

    @property
    def low(self) -> float:
        return sum(e.low or 0.0 for e in self.by_urn.values())

    @property
    def high(self) -> float:
        return sum(e.high or 0.0 for e in self.by_urn.values())

    def unpriced(self) -> list[str]:
        return sorted({e.detail for e in self.by_urn.values() if e.kind == "unpriced"})

    def as_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "basis": BASIS,
            "currency": self.currency,
            "monthly": {"min": round(self.low, 2), "max": round(self.high, 2)},
            "not_estimated": sorted(
                {e.detail for e in self.by_urn.values() if e.kind in ("usage", "unpriced")}
            ),
        }


def estimate_plan(document: Mapping[str, Any], snapshot: Snapshot) -> PlanCost:
    resources = document.get("resources") or []
    autoscale = _autoscale_bounds(resources)
    cost = PlanCost(snapshot=snapshot.taken, currency=snapshot.currency)
    for resource in resources:
        estimate = _estimate(resource, snapshot, autoscale)
        if estimate is not None:
            cost.by_urn[resource["urn"]] = estimate
    return cost


def attach(document: dict[str, Any], snapshot: Snapshot) -> PlanCost:
    """Put each resource's estimate under its `cost` key and the total under the
    document's `cost`; return the estimate."""
    cost = estimate_plan(document, snapshot)
    for resource in document.get("resources") or []:
        estimate = cost.by_urn.get(resource["urn"])
        if estimate is not None:
            resource["cost"] = estimate.as_json()
    document["cost"] = cost.as_json()
    return cost


def _estimate(
    resource: Mapping[str, Any],
    snapshot: Snapshot,
    autoscale: Mapping[tuple[str, str], tuple[int, int]],
) -> Estimate | None:
    typ, inputs = resource["type"], resource.get("inputs") or {}
    region = str(inputs.get("location") or "")
    if typ == "azure-native:machinelearningservices:OnlineDeployment":
        return _online(inputs, region, snapshot, autoscale)
    if typ == "azure-native:machinelearningservices:Compute":
        return _cluster(inputs, region, snapshot)
    if typ == "azure-native:containerregistry:Registry":
        sku = str((inputs.get("sku") or {}).get("name") or "")
        price = snapshot.registry(sku, region)
        if price is None:
            return Estimate("unpriced", detail=f"registry {sku} in {region}: {NO_PRICE}")
        month = price.monthly()
        return Estimate("fixed", month, month, f"registry {sku}: {price.amount:g} {price.unit}")
    if typ == "azure-native:operationalinsights:Workspace":
        return _log_analytics(inputs, region, snapshot)
    if typ in _USAGE:
        return Estimate("usage", detail=f"{_USAGE[typ]}: usage based, not estimated")
    return None


def _online(
    inputs: Mapping[str, Any], region: str, snapshot: Snapshot,
    autoscale: Mapping[tuple[str, str], tuple[int, int]],
) -> Estimate:  # fmt: skip
    properties = inputs.get("properties") or {}
    if properties.get("endpointComputeType") == "Kubernetes":
        return Estimate("usage", detail="Kubernetes deployment: billed as the cluster's nodes")
    sku = str(properties.get("instanceType") or "")
    count = int((inputs.get("sku") or {}).get("capacity") or 1)
    low, high = autoscale.get(
        (str(inputs.get("endpointName")), str(inputs.get("deploymentName"))), (count, count)
    )
    quota = f"{math.ceil(high * (1 + QUOTA_HEADROOM))} x {sku} (20% upgrade headroom)"
    price = snapshot.vm(sku, region)
    if price is None:
        return Estimate("unpriced", detail=f"{sku} in {region}: {NO_PRICE}", quota=quota)
    hourly = price.amount
    what = (
        f"{sku} {hourly:g}/h x {low}"
        + (f"..{high}" if high != low else "")
        + f" x {HOURS_PER_MONTH} h"
    )
    kind = "range" if high != low else "fixed"
    return Estimate(
        kind, hourly * low * HOURS_PER_MONTH, hourly * high * HOURS_PER_MONTH, what, quota
    )


def _cluster(inputs: Mapping[str, Any], region: str, snapshot: Snapshot) -> Estimate:
    props = (inputs.get("properties") or {}).get("properties") or {}
    sku = str(props.get("vmSize") or "")
    low_priority = props.get("vmPriority") == "LowPriority"
    scale = props.get("scaleSettings") or {}
    low, high = int(scale.get("minNodeCount") or 0), int(scale.get("maxNodeCount") or 0)
    price = snapshot.vm(sku, region, low_priority=low_priority)
    meter = "low priority" if low_priority else "dedicated"
    if price is None:
        return Estimate("unpriced", detail=f"{sku} ({meter}) in {region}: {NO_PRICE}")
    what = f"{sku} {meter} {price.amount:g}/h x {low} always on, up to {high} nodes all month"
    return Estimate(
        "range", price.amount * low * HOURS_PER_MONTH, price.amount * high * HOURS_PER_MONTH, what
    )


def _log_analytics(inputs: Mapping[str, Any], region: str, snapshot: Snapshot) -> Estimate:
    days = int(inputs.get("retentionInDays") or INCLUDED_RETENTION_DAYS)
    beyond = max(days - INCLUDED_RETENTION_DAYS, 0)
    rate = snapshot.log_retention(region)
    shown = f" at {rate.amount:g} per {rate.unit}" if rate else f" ({NO_PRICE} for the rate)"
    return Estimate(
        "usage",
        detail=f"Log Analytics: ingestion per GB, and {beyond} days of retention beyond the "
        f"included {INCLUDED_RETENTION_DAYS} per GB kept{shown}: usage based, not estimated",
    )


def _autoscale_bounds(resources: list[Mapping[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(endpoint, deployment) -> (minimum, maximum) of the autoscale aimed at it."""
    bounds = {}
    for resource in resources:
        if resource["type"] != "azure-native:monitor:AutoscaleSetting":
            continue
        inputs = resource.get("inputs") or {}
        target = str(inputs.get("targetResourceUri") or "")
        parts = target.split("/")
        if "onlineEndpoints" not in parts or "deployments" not in parts:
            continue
        endpoint = parts[parts.index("onlineEndpoints") + 1]
        deployment = parts[parts.index("deployments") + 1]
        profiles = inputs.get("profiles") or [{}]
        capacity = profiles[0].get("capacity") or {}
        bounds[(endpoint, deployment)] = (
            int(capacity.get("minimum", 1)),
            int(capacity.get("maximum", 1)),
        )
    return bounds
