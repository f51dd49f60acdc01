"""The seed's obligations nothing enforced before, through HTTP on PostgreSQL: INSPECTION_AGENCY_UNLICENSED,
SCRAP_NOT_BY_AGENCY, DELIVERY_NO_EMERGENCY_SHUTOFF, STOCK_OVERDUE_INSPECTION, and DELIVERY_DUAL_PHASE as
amended (a dual-phase cylinder is a YSP118-II not converted by a passing inspection)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Clock
from tests.integration.rules.helpers import findings, fit, restaurant, rules
from tests.support import factories as f

NOW = "2026-11-28T10:00:00+08:00"


async def inspect(c: httpx.AsyncClient, code: str, agency: str, **extra: Any) -> httpx.Response:
    return await c.post("/api/v1/inspections", json={"event_id": f.eid(), "code": code, "agency_id": agency,
                                                     "occurred_at": NOW, "result": "pass", **extra})


async def test_an_unlicensed_agency_records_no_inspection(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    await f.ok(await pg_client.post("/api/v1/agencies", json={
        "id": "A2", "name": "过期检验所", "licence_no": "JY-2", "licence_valid_until": "2026-11-27"}))
    code = str((await f.cylinder(pg_client, model="YSP118-II", manufactured_on="2023-01-01"))["code"])
    before = await f.ok(await pg_client.get(f"/api/v1/cylinders/{code}"))
    refused = await inspect(pg_client, code, "A2", converted_to_single_phase=True)
    assert refused.status_code == 422 and rules(refused.json()) == ["INSPECTION_AGENCY_UNLICENSED"]
    after = await f.ok(await pg_client.get(f"/api/v1/cylinders/{code}"))
    assert {k: after[k] for k in ("next_inspection_due", "valve", "last_inspected_on", "status")} == {
        k: before[k] for k in ("next_inspection_due", "valve", "last_inspected_on", "status")}
    (finding,) = await findings(pg_client, rule="INSPECTION_AGENCY_UNLICENSED")
    assert (finding["subject"], finding["severity"]) == ("agency:A2", "block")
    # an agency licensed until today inspects today
    await f.ok(await pg_client.patch("/api/v1/agencies/A2", json={"licence_valid_until": "2026-11-28"}))
    await f.ok(await inspect(pg_client, code, "A2", converted_to_single_phase=True), 201)


async def test_a_scrap_naming_no_agency_is_a_finding_on_the_company(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    code = str((await f.cylinder(pg_client))["code"])
    scrapped = await f.ok(await pg_client.post(f"/api/v1/cylinders/{code}/scrap", json={
        "event_id": f.eid(), "reason": "报废", "occurred_at": NOW, "company_id": "C1"}), 201)
    assert scrapped["status"] == "scrapped" and rules(scrapped, "warnings") == ["SCRAP_NOT_BY_AGENCY"]
    (finding,) = await findings(pg_client, rule="SCRAP_NOT_BY_AGENCY")
    assert (finding["subject"], finding["severity"], finding["company_id"]) == ("company:C1", "high", "C1")
    by_agency = str((await f.cylinder(pg_client))["code"])
    await f.ok(await pg_client.post(f"/api/v1/cylinders/{by_agency}/scrap", json={
        "event_id": f.eid(), "reason": "报废", "occurred_at": NOW, "company_id": "C1", "agency_id": "A1"}), 201)
    assert len(await findings(pg_client, rule="SCRAP_NOT_BY_AGENCY")) == 1


async def test_non_residential_premises_need_an_emergency_shutoff(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    await restaurant(pg_client, "R1", emergency_shutoff=False)
    code = str((await f.cylinder(pg_client))["code"])
    assert (await f.fill(pg_client, code)).status_code == 201
    refused = await f.deliver(pg_client, code, customer_id="R1")
    assert refused.status_code == 422 and rules(refused.json()) == ["DELIVERY_NO_EMERGENCY_SHUTOFF"]
    (finding,) = await findings(pg_client, rule="DELIVERY_NO_EMERGENCY_SHUTOFF")
    assert finding["subject"] == "customer:R1"
    await f.ok(await pg_client.patch("/api/v1/customers/R1", json={"premises": {
        "underground": False, "gas_alarm": True, "emergency_shutoff": True, "cylinder_room": False}}))
    await f.ok(await f.deliver(pg_client, code, customer_id="R1"), 201)


async def test_only_an_unconverted_dual_phase_cylinder_is_refused_delivery(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    dual = str((await f.cylinder(pg_client, model="YSP118-II", manufactured_on="2023-01-01"))["code"])
    converted = str((await f.cylinder(pg_client, model="YSP118-II", manufactured_on="2023-01-01"))["code"])
    await f.ok(await inspect(pg_client, converted, "A1", converted_to_single_phase=True), 201)
    await fit(pg_client, converted, "V1")  # passed an inspection after 2023-09-30: it needs its smart valve
    assert (await f.fill(pg_client, converted, net_mass_kg=49.0)).status_code == 201
    await f.ok(await f.deliver(pg_client, converted), 201)
    refused = await f.deliver(pg_client, dual)
    assert "DELIVERY_DUAL_PHASE" in rules(refused.json())
    message = next(v for v in refused.json()["violations"] if v["rule"] == "DELIVERY_DUAL_PHASE")["message_en"]
    assert "YSP118-II" in message and "not converted" in message


async def test_overdue_cylinders_left_in_stock_are_swept_once(pg_client: httpx.AsyncClient, clock: Clock) -> None:
    await f.town(pg_client)
    empty = str((await f.cylinder(pg_client, manufactured_on="2022-11-27"))["code"])  # due 2026-11-27: overdue
    full = str((await f.cylinder(pg_client, manufactured_on="2022-11-28"))["code"])  # due today: not yet
    assert (await f.fill(pg_client, full)).status_code == 201
    first = await f.ok(await pg_client.post("/api/v1/sweeps"))
    assert first["by_rule"].get("STOCK_OVERDUE_INSPECTION") == 1 and f"cylinder:{empty}" in first["subjects"]
    clock.advance(days=1)
    second = await f.ok(await pg_client.post("/api/v1/sweeps"))
    assert second["by_rule"].get("STOCK_OVERDUE_INSPECTION") == 1 and f"cylinder:{full}" in second["subjects"]
    stock = await findings(pg_client, rule="STOCK_OVERDUE_INSPECTION")
    assert sorted((x["subject"], x["severity"], x["company_id"]) for x in stock) == sorted(
        [(f"cylinder:{empty}", "high", "C1"), (f"cylinder:{full}", "high", "C1")])
