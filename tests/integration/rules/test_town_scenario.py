"""The seed's town on PostgreSQL: a company with two stations, staff and a vehicle; household and
restaurant customers; company, user-owned, old dual-phase and overdue cylinders; fills (some refused),
deliveries (some refused), a swap in each branch, an inspection converting a dual-phase valve, a
scrapping with real-name hand-in — then the findings ledger and the subsidy ledger, to the yuan."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import Services, build_services
from cylinder_trace.settings import Settings
from tests.conftest import ADMIN_TOKEN, Clock
from tests.support import factories as f

from .helpers import NOW, fit, new_cylinder, restaurant, rules, xlsx_rows

HANDED = {"name": "孙七", "id_number": "220102197001011234", "phone": "13600000000", "address": "大岗子镇东街3号"}


@pytest.fixture
async def town(pg_url: str, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=pg_url, admin_token=ADMIN_TOKEN, embedded_broker=False, sweep_interval_s=0)
    services: Services = build_services(settings, clock=clock)
    app = create_app(settings, services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c
    await services.close()


async def user_cylinder(c: httpx.AsyncClient, cust: str, made: str, **extra: Any) -> str:
    body = {"event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M09", "manufactured_on": made,
            "owner": {"customer_id": cust}, **extra}
    return (await f.ok(await c.post("/api/v1/cylinders", json=body), 201))["code"]


async def filled(c: httpx.AsyncClient, code: str, station: str = "S1", kg: float = 14.5) -> None:
    response = await f.fill(c, code, station_id=station, net_mass_kg=kg)
    assert response.status_code == 201, response.text


async def test_the_town(town: httpx.AsyncClient) -> None:
    c = town
    # --- registries: the company, two stations, staff, a vehicle, an agency, customers --------------
    await f.town(c)
    await f.station(c, "S2", name="二号充装站")
    await f.staff(c, "F2", "filler", certificate_valid_until="2026-11-27")  # expired yesterday
    await f.customer(c, "U2", name="王五", id_number="220102198502021234", phone="13900000002")
    await restaurant(c, "R1")
    await restaurant(c, "R2", underground=True, gas_alarm=False)

    # --- cylinders --------------------------------------------------------------------------------
    household = (await f.cylinder(c))["code"]  # fleet cylinder from before the smart-valve rule
    valved = await new_cylinder(c, "V1")  # newly acquired, smart valve fitted: 30 CNY
    no_valve = await new_cylinder(c)  # newly acquired, no valve
    overdue = (await f.cylinder(c, manufactured_on="2019-05-01"))["code"]  # due 2023-05-01
    dual = (await f.cylinder(c, model="YSP118-II", manufactured_on="2019-03-01"))["code"]  # old and overdue
    big = [(await f.cylinder(c, model="YSP118", manufactured_on="2023-03-01"))["code"] for _ in range(4)]

    # --- fills ------------------------------------------------------------------------------------
    await filled(c, household)
    await filled(c, valved, station="S2")
    refused = await f.fill(c, no_valve)
    assert refused.status_code == 422 and rules(refused.json()) == ["FILL_NO_SMART_VALVE"]
    refused = await f.fill(c, overdue, filler_id="F2")
    assert set(rules(refused.json())) == {"FILL_OVERDUE_INSPECTION", "FILL_FILLER_UNCERTIFIED"}
    refused = await f.fill(c, dual, net_mass_kg=49.0)
    assert rules(refused.json()) == ["FILL_OVERDUE_INSPECTION", "FILL_DUAL_PHASE_VALVE"]
    refused = await f.fill(c, big[0], net_mass_kg=50.2)
    assert rules(refused.json()) == ["FILL_OVERFILL"]
    for code in big:
        await filled(c, code, kg=49.5)

    # --- the dual-phase cylinder: converted to single phase at inspection, then a valve, then filled -
    await f.ok(await c.post("/api/v1/inspections", json={
        "event_id": f.eid(), "code": dual, "agency_id": "A1", "occurred_at": NOW, "result": "pass",
        "converted_to_single_phase": True}), 201)
    check = await f.ok(await c.post("/api/v1/fill-checks", json={"code": dual, "station_id": "S1"}))
    assert rules(check) == ["FILL_NO_SMART_VALVE"]  # passed inspection after 2023-09-30: 到期检验钢瓶须配智能角阀
    await fit(c, dual, "V2")  # 30 CNY
    await filled(c, dual, kg=49.0)

    # --- deliveries: a household, a restaurant (the third 50 kg cylinder refused), an underground one
    assert (await f.deliver(c, household, safety_check=None)).status_code == 201  # no check: high finding
    for code in big[:2]:
        assert (await f.deliver(c, code, customer_id="R1", safety_check=None)).status_code == 201
    third = await f.deliver(c, big[2], customer_id="R1", safety_check=None)
    assert third.status_code == 422 and rules(third.json()) == ["DELIVERY_STORAGE_OVER_100KG"]
    under = await f.deliver(c, big[3], customer_id="R2", safety_check=None)
    assert rules(under.json()) == ["DELIVERY_NO_GAS_ALARM", "DELIVERY_UNDERGROUND"]

    # --- 产权置换: one swap in each branch for 王五's own cylinders ------------------------------------
    recent = await user_cylinder(c, "U2", "2024-02-01")
    aged = await user_cylinder(c, "U2", "2021-02-01", last_inspected_on="2022-06-01")
    ancient = await user_cylinder(c, "U2", "2017-02-01")
    new_ones = [(await f.cylinder(c))["code"] for _ in range(3)]
    for code in new_ones:
        await filled(c, code)
    branches = {}
    for old, new, residual in zip((recent, aged, ancient), new_ones, (1.5, 0.0, 4.0), strict=True):
        body = await f.ok(await c.post("/api/v1/swaps", json={
            "event_id": f.eid(), "old_code": old, "new_code": new, "customer_id": "U2", "occurred_at": NOW,
            "residual_kg": residual}), 201)
        branches[body["branch"]] = body
    assert set(branches) == {"free", "inspection_fee", "recycle"}
    assert branches["inspection_fee"]["user_pays_cny"] == 70
    assert (branches["recycle"]["deposit_cny"], branches["recycle"]["company_pays_user_cny"]) == (200, 50)
    # the free branch's old cylinder is the company's now: inspected, fitted (30 CNY), filled
    await f.ok(await c.post("/api/v1/inspections", json={
        "event_id": f.eid(), "code": recent, "agency_id": "A1", "occurred_at": NOW, "result": "pass"}), 201)
    await fit(c, recent, "V3")
    await filled(c, recent)

    # --- a walk-in hands in an old cylinder for scrapping, with real name (10 CNY); it reappears later
    walk_in = await user_cylinder(c, "U1", "2010-01-01")
    await f.ok(await c.post(f"/api/v1/cylinders/{walk_in}/scrap", json={
        "event_id": f.eid(), "reason": "超出设计使用年限回收报废", "occurred_at": NOW, "company_id": "C1",
        "agency_id": "A1", "handed_in_by": HANDED}), 201)
    reappeared = await f.fill(c, walk_in, station_id="S2")
    assert "SCRAPPED_CYLINDER_REAPPEARED" in rules(reappeared.json(), "warnings")

    # --- the findings ledger ----------------------------------------------------------------------
    ledger = (await f.ok(await c.get("/api/v1/findings", params={"limit": 500})))["items"]
    got = {(x["rule"], x["subject"], x["severity"]) for x in ledger}
    assert got == {
        ("FILL_NO_SMART_VALVE", f"cylinder:{no_valve}", "block"),
        ("FILL_OVERDUE_INSPECTION", f"cylinder:{overdue}", "block"),
        ("FILL_FILLER_UNCERTIFIED", "company:C1", "block"),
        ("FILL_DUAL_PHASE_VALVE", f"cylinder:{dual}", "block"),
        ("FILL_OVERDUE_INSPECTION", f"cylinder:{dual}", "block"),
        ("FILL_OVERFILL", "station:S1", "block"),
        ("SAFETY_CHECK_MISSING", "customer:U1", "high"),
        ("DELIVERY_STORAGE_OVER_100KG", "customer:R1", "block"),
        ("DELIVERY_NO_GAS_ALARM", "customer:R2", "block"),
        ("DELIVERY_UNDERGROUND", "customer:R2", "block"),
        ("LIFECYCLE_INVALID_TRANSITION", f"cylinder:{walk_in}", "block"),
        ("FILL_SCRAPPED", f"cylinder:{walk_in}", "block"),
        ("FILL_OVERDUE_INSPECTION", f"cylinder:{walk_in}", "block"),
        ("FILL_LIFE_EXPIRED", f"cylinder:{walk_in}", "block"),
        ("FILL_NOT_OWNED", "station:S2", "block"),
        ("SCRAPPED_CYLINDER_REAPPEARED", f"cylinder:{walk_in}", "high"),
    }
    assert {x["company_id"] for x in ledger} == {"C1"} and {x["status"] for x in ledger} == {"open"}
    # the company rectifies the overfill, the regulator closes it (销号)
    overfill = next(x for x in ledger if x["rule"] == "FILL_OVERFILL")
    company, regulator = await f.token(c, "company_admin", company_id="C1"), await f.token(c, "regulator")
    await f.ok(await c.post(f"/api/v1/findings/{overfill['id']}/rectify", json={"note": "已排残并复检"},
                            headers=company))
    await f.ok(await c.post(f"/api/v1/findings/{overfill['id']}/close", json={"note": "核查属实"}, headers=regulator))
    assert len((await f.ok(await c.get("/api/v1/findings", params={"status": "open", "limit": 500})))["items"]) == 15

    # --- the subsidy ledger, to the yuan: valves V1, V2, V3 (3 × 30) + recycling (swap + hand-in, 2 × 10)
    subsidies = await f.ok(await c.get("/api/v1/ledgers/subsidies", params={"company_id": "C1"}))
    assert [(r["kind"], r["count"], r["amount_cny"]) for r in subsidies["rows"]] == [
        ("recycling", 2, 20), ("smart_valve", 3, 90)]
    assert subsidies["total_cny"] == 110
    swaps = await f.ok(await c.get("/api/v1/ledgers/swaps", params={"company_id": "C1"}))
    assert {k: swaps["totals"][k] for k in ("count", "user_pays_cny", "deposit_cny", "company_pays_user_cny",
                                            "subsidy_cny", "topup_kg")} == {
        "count": 3, "user_pays_cny": 70, "deposit_cny": 200, "company_pays_user_cny": 50, "subsidy_cny": 10,
        "topup_kg": 5.5}

    # --- exports a regulator opens in a spreadsheet ------------------------------------------------
    as_csv = await c.get("/api/v1/ledgers/subsidies", params={"format": "csv", "company_id": "C1"})
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0][4] == "金额(元) (amount_cny)" and rows[-1][4] == "110"
    sheet = xlsx_rows((await c.get("/api/v1/findings", params={"format": "xlsx", "status": "open"})).content)
    assert len(sheet) == 16 and sheet[0][10] == "隐患描述 (message_zh)"
    assert any("地下或半地下" in str(r[10]) for r in sheet[1:])
