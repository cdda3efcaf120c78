"""Cost estimates of the shipped stacks' plans, the Markdown diff and its gate, the
shipped snapshot's honesty, and the snapshot's refresh against a stand-in of the
Retail Prices API that pages as the real one does."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from amlkit.cli import EXIT_CHECK_FAILED, app
from amlkit.cost.diff import compare, markdown
from amlkit.cost.estimate import estimate_plan
from amlkit.cost.prices import DAYS_PER_MONTH, SHIPPED, load_snapshot
from tests.conftest import ROOT, ShippedPlan

runner = CliRunner()
TEST_PRICES = Path(__file__).with_name("test_prices.json")
HOURS = 730


@pytest.fixture(scope="module")
def plans(shipped_plan: ShippedPlan) -> dict[str, dict[str, Any]]:
    return {s: shipped_plan(s) for s in ("dev", "prod")}


def _by_name(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in plan["resources"]}


def test_online_deployment_month_is_instances_hours_and_autoscale_range(
    plans: dict[str, Any],
) -> None:
    cost = estimate_plan(plans["prod"], load_snapshot(TEST_PRICES))
    blue = next(e for u, e in cost.by_urn.items() if u.endswith("::online-amlkit-prod-score-blue"))
    assert (blue.kind, blue.low, blue.high) == ("range", 3 * HOURS, 10 * HOURS)  # 1.0/h, Linux
    assert blue.quota == "12 x Standard_DS3_v2 (20% upgrade headroom)"
    cluster = next(e for u, e in cost.by_urn.items() if u.endswith("::compute-cpu-cluster"))
    assert (cluster.low, cluster.high) == (0.0, 8 * HOURS)  # dedicated 0..8
    registry = next(e for u, e in cost.by_urn.items() if u.endswith("::workspace-registry"))
    assert (
        registry.kind == "unpriced"
        and "registry Premium in westeurope: no price in snapshot" in registry.detail
    )


def test_low_priority_cluster_uses_its_own_meter(plans: dict[str, Any]) -> None:
    cost = estimate_plan(plans["dev"], load_snapshot(TEST_PRICES))
    cluster = next(e for u, e in cost.by_urn.items() if u.endswith("::compute-cpu-cluster"))
    assert cluster.high == pytest.approx(0.2 * 2 * HOURS) and "low priority" in cluster.detail
    assert cost.high == pytest.approx(1 * HOURS + 0.4 * HOURS + 2.0 * DAYS_PER_MONTH)


def test_the_plan_carries_each_estimate_with_the_snapshot_date(plans: dict[str, Any]) -> None:
    prod = plans["prod"]
    assert (
        prod["cost"]["snapshot"] == load_snapshot().taken
        and prod["cost"]["basis"] == "retail list price"
    )
    registry = _by_name(prod)["workspace-registry"]["cost"]
    assert registry["monthly"]["max"] == round(1.667 * DAYS_PER_MONTH, 2)
    blue = _by_name(prod)["online-amlkit-prod-score-blue"]["cost"]
    assert blue["kind"] == "unpriced" and "no price in snapshot" in blue["detail"]
    assert any("usage based, not estimated" in item for item in prod["cost"]["not_estimated"])


def test_shipped_snapshot_says_where_every_price_comes_from() -> None:
    data = json.loads(SHIPPED.read_text())
    assert data["header"]["taken"] and "cannot reach prices.azure.com" in data["header"]["how"]
    for item in data["Items"]:
        assert item["source"]["url"].startswith("https://") and item["source"]["quote"]
        assert (
            f"{item['retailPrice']}" in item["source"]["quote"]
            or f"${item['retailPrice']}" in item["source"]["quote"]
        )


def test_cost_command_prints_the_date_and_basis() -> None:
    result = runner.invoke(app, ["cost", "--stack", "dev", "--project", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "retail list price" in result.output and load_snapshot().taken in result.output
    assert "Standard_DS3_v2 (low priority) in westeurope: no price in snapshot" in result.output


def test_diff_markdown_and_gate(
    plans: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMLKIT_PRICES", str(TEST_PRICES))
    base = plans["dev"]
    head = copy.deepcopy(base)
    blue = _by_name(head)["online-amlkit-dev-score-blue"]
    blue["inputs"]["sku"]["capacity"] = 3
    (tmp_path / "a.json").write_text(json.dumps(base))
    (tmp_path / "b.json").write_text(json.dumps(head))
    text = markdown(compare(base, head, load_snapshot(TEST_PRICES)))
    assert (
        f"| `online-amlkit-dev-score-blue` | {HOURS:,.2f} USD | {3 * HOURS:,.2f} USD | +{2 * HOURS:,.2f} USD |"
        in text
    )
    assert "snapshot of **2000-01-01**" in text and "retail list price" in text
    args = ["cost", "diff", "--base", str(tmp_path / "a.json"), "--head", str(tmp_path / "b.json")]
    passed = runner.invoke(app, [*args, "--fail-above", str(2 * HOURS)])
    assert passed.exit_code == 0, passed.output
    failed = runner.invoke(app, [*args, "--fail-above", "100"])
    assert failed.exit_code == EXIT_CHECK_FAILED and "rises by 1,460.00" in failed.output


# ----- refresh, against a stand-in of the Retail Prices API ----------------------------


def _item(sku: str, price: float, meter: str, kind: str = "Consumption") -> dict[str, Any]:
    return {
        "currencyCode": "USD", "tierMinimumUnits": 0.0, "retailPrice": price, "unitPrice": price,
        "armRegionName": "westeurope", "location": "EU West", "effectiveStartDate": "2024-01-01T00:00:00Z",
        "meterId": f"meter-{meter}", "meterName": meter, "productId": "P", "skuId": "P/1",
        "productName": "Virtual Machines DSv2 Series", "skuName": meter, "serviceName": "Virtual Machines",
        "serviceId": "S", "serviceFamily": "Compute", "unitOfMeasure": "1 Hour", "type": kind,
        "isPrimaryMeterRegion": True, "armSkuName": sku,
    }  # fmt: skip


@pytest.fixture
def prices_api() -> Iterator[tuple[str, list[str]]]:
    """The API's paged shape: BillingCurrency, CustomerEntityId/Type, Items, NextPageLink
    (an absolute URL with $skip, empty on the last page), Count."""
    seen: list[str] = []
    items = [_item("Standard_DS3_v2", 0.5, "DS3 v2"), _item("Standard_DS3_v2", 0.1, "DS3 v2 Low Priority"),
             _item("Standard_DS3_v2", 0.3, "DS3 v2", kind="Reservation")]  # fmt: skip

    async def handle(request: Request) -> JSONResponse:
        odata = request.query_params.get("$filter", "")
        seen.append(odata)
        skip = int(request.query_params.get("$skip", "0"))
        # As the API filters: the service, and the SKU the query names.
        matching = [
            i
            for i in items
            if "Virtual Machines" in odata and f"armSkuName eq '{i['armSkuName']}'" in odata
        ]
        page = matching[skip : skip + 2]
        more = skip + 2 < len(matching)
        base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        link = str(request.url.include_query_params(**{"$skip": skip + 2})) if more else None
        assert base
        return JSONResponse({"BillingCurrency": "USD", "CustomerEntityId": "Default", "CustomerEntityType": "Retail",
                             "Items": page, "NextPageLink": link, "Count": len(page)})  # fmt: skip

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/api/retail/prices", handle)]),
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/api/retail/prices", seen
    server.should_exit = True
    thread.join(5)


def test_refresh_follows_pages_and_writes_a_usable_snapshot(
    prices_api: tuple[str, list[str]], tmp_path: Path
) -> None:
    api, seen = prices_api
    target = tmp_path / "prices.json"
    result = runner.invoke(app, ["cost", "prices", "refresh", "--api", api, "--output", str(target),
                                 "--now", "2026-12-02T08:00:00Z", "--project", str(ROOT)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'westeurope' and armSkuName eq 'Standard_DS3_v2' and priceType eq 'Consumption'"
        in seen
    )
    assert seen.count(seen[0]) == 2  # the second page, through NextPageLink
    snapshot = load_snapshot(target)
    assert snapshot.taken == "2026-12-02" and "NextPageLink" in snapshot.header["how"]
    assert len(snapshot.items) == 2  # the reservation price is not a list price
    dedicated, low = (
        snapshot.vm("Standard_DS3_v2", "westeurope"),
        snapshot.vm("Standard_DS3_v2", "westeurope", True),
    )
    assert (
        dedicated is not None and low is not None and (dedicated.amount, low.amount) == (0.5, 0.1)
    )
