"""The price snapshot amlkit ships: items in the Azure Retail Prices API's shape.

`retail_prices.json` holds a header (when and how it was taken, currency, basis) and
`Items` as the API returns them (`serviceName`, `armSkuName`, `skuName`, `meterName`,
`armRegionName`, `unitOfMeasure`, `retailPrice`, `currencyCode`, `effectiveStartDate`,
`type`). `$AMLKIT_PRICES` points at another snapshot (what `amlkit cost prices refresh`
writes). A lookup that finds nothing returns None: an estimate says "no price in
snapshot", never a guess.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).with_name("retail_prices.json")
VARIABLE = "AMLKIT_PRICES"
"""Path of a snapshot to use instead of the shipped one."""

HOURS_PER_MONTH = 730
"""Azure's pricing calculator's month (8,760 hours / 12)."""
DAYS_PER_MONTH = HOURS_PER_MONTH / 24


@dataclass(frozen=True)
class Price:
    amount: float
    unit: str
    """`1 Hour`, `1/Day`, `1 GB/Month`, as the API writes it."""
    currency: str
    meter: str

    def monthly(self) -> float:
        """What one unit costs for a month, for time-based units; else ValueError."""
        unit = self.unit.lower().replace(" ", "")
        if unit in ("1hour", "1/hour"):
            return self.amount * HOURS_PER_MONTH
        if unit in ("1/day", "1day"):
            return self.amount * DAYS_PER_MONTH
        if unit in ("1/month", "1month"):
            return self.amount
        raise ValueError(f"{self.unit} is not a unit of time")


@dataclass(frozen=True)
class Snapshot:
    header: Mapping[str, Any]
    items: tuple[Mapping[str, Any], ...]

    @property
    def taken(self) -> str:
        return str(self.header.get("taken", "unknown"))

    @property
    def currency(self) -> str:
        return str(self.header.get("currency", "USD"))

    def vm(self, sku: str, region: str, low_priority: bool = False) -> Price | None:
        """The Linux pay-as-you-go hourly price of a VM size (its Low Priority meter)."""
        for item in self._in_region(region):
            if item.get("serviceName") != "Virtual Machines":
                continue
            if str(item.get("armSkuName", "")).lower() != sku.lower():
                continue
            meter = str(item.get("meterName", ""))
            if "windows" in str(item.get("productName", "")).lower() or "spot" in meter.lower():
                continue
            if meter.lower().endswith("low priority") == low_priority:
                return _price(item)
        return None

    def registry(self, sku: str, region: str) -> Price | None:
        for item in self._in_region(region):
            if (
                item.get("serviceName") == "Container Registry"
                and item.get("skuName") == sku
                and str(item.get("meterName", "")).endswith("Registry Unit")
            ):
                return _price(item)
        return None

    def log_retention(self, region: str) -> Price | None:
        """Log Analytics' per-GB-month rate for data kept beyond the included days."""
        for item in self._in_region(region):
            if (
                item.get("serviceName") == "Log Analytics"
                and "retention" in str(item.get("meterName", "")).lower()
            ):
                return _price(item)
        return None

    def _in_region(self, region: str) -> list[Mapping[str, Any]]:
        """Items of `region`, then region-less ones (prices published without one)."""
        exact = [i for i in self.items if i.get("type", "Consumption") == "Consumption"
                 and str(i.get("armRegionName", "")).lower() == region.lower()]  # fmt: skip
        anywhere = [i for i in self.items if not i.get("armRegionName")]
        return exact + anywhere


def _price(item: Mapping[str, Any]) -> Price:
    return Price(
        amount=float(item["retailPrice"]),
        unit=str(item.get("unitOfMeasure", "")),
        currency=str(item.get("currencyCode", "USD")),
        meter=str(item.get("meterName", "")),
    )


def load_snapshot(path: Path | None = None) -> Snapshot:
    chosen = path or Path(os.environ.get(VARIABLE) or SHIPPED)
    return _read(str(chosen))


@cache
def _read(path: str) -> Snapshot:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Snapshot(header=data.get("header") or {}, items=tuple(data.get("Items") or ()))
