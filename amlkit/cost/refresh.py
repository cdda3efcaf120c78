"""Rebuild the price snapshot from Azure's Retail Prices API (unauthenticated).

One query per service and region the stacks use, with OData `$filter` (`serviceName eq
'Virtual Machines' and armRegionName eq 'westeurope' and armSkuName eq '...'`), each
followed page by page through `NextPageLink` until it is empty (the API returns at most
100 items a page). Only consumption prices are kept. The client is azure-core's
pipeline (retries with back-off on 408, 429 and 5xx), as for ARM.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from azure.core import PipelineClient
from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy, UserAgentPolicy
from azure.core.rest import HttpRequest

API = "https://prices.azure.com/api/retail/prices"
MAX_PAGES = 50
"""A query that pages further is cut off (and said so): a filter gone wrong."""


class RefreshError(Exception):
    """The API refused or answered something that is not its shape."""


@dataclass(frozen=True)
class Needs:
    """What the stacks use: VM sizes by region, and the regions."""

    vm_sizes: frozenset[tuple[str, str]]
    regions: frozenset[str]

    def filters(self) -> list[str]:
        out = [
            f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and "
            f"armSkuName eq '{size}' and priceType eq 'Consumption'"
            for region, size in sorted(self.vm_sizes)
        ]
        for region in sorted(self.regions):
            out.append(
                f"serviceName eq 'Container Registry' and armRegionName eq '{region}' "
                "and priceType eq 'Consumption'"
            )
            out.append(
                f"serviceName eq 'Log Analytics' and armRegionName eq '{region}' "
                "and priceType eq 'Consumption'"
            )
        return out


def fetch(filters: Iterable[str], api: str = API) -> Iterator[dict[str, Any]]:
    """Every item of every filter's pages."""
    client: PipelineClient[HttpRequest, Any] = PipelineClient(
        base_url=api,
        policies=[
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(sdk_moniker="amlkit"),
            RetryPolicy(),
        ],
    )
    for odata in filters:
        request: HttpRequest | None = HttpRequest("GET", api, params={"$filter": odata})
        pages = 0
        while request is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise RefreshError(f"{odata!r}: more than {MAX_PAGES} pages; narrow the filter")
            response = client.send_request(request)
            if response.status_code != 200:
                raise RefreshError(
                    f"GET {request.url}: {response.status_code} {response.text()[:200]}"
                )
            try:
                body = response.json()
                items = body["Items"]
            except (ValueError, KeyError, TypeError):
                raise RefreshError(
                    f"GET {request.url}: not the Retail Prices API's shape"
                ) from None
            yield from items
            link = body.get("NextPageLink")
            request = HttpRequest("GET", link) if link else None


def write_snapshot(
    items: list[dict[str, Any]], filters: list[str], path: Path, now: datetime, api: str = API
) -> None:
    kept = [i for i in items if i.get("type") == "Consumption"]
    currency = next((str(i.get("currencyCode")) for i in kept), "USD")
    document = {
        "header": {
            "taken": now.strftime("%Y-%m-%d"),
            "how": f"amlkit cost prices refresh at {now:%Y-%m-%dT%H:%M:%SZ}: GET {api} with "
            f"$filter, every NextPageLink followed; {len(kept)} consumption items of "
            f"{len(filters)} queries: " + "; ".join(filters),
            "api": api,
            "currency": currency,
            "basis": "retail list price (pay as you go), before discounts, reservations and taxes",
        },
        "Items": kept,
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
