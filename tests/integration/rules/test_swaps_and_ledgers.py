"""产权置换 through HTTP (quote, each branch, the deposit refund), the old cylinder's path, and the
subsidy and swap ledgers with their exports."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from cylinder_trace.app.services import Services
from cylinder_trace.projections.ledgers import LedgersProjection
from cylinder_trace.store.projections import rebuild
from tests.conftest import Clock
from tests.support import factories as f

from .helpers import NOW, fit, new_cylinder, rules, xlsx_rows

HANDED = {"name": "赵六", "id_number": "220102198001011234", "phone": "13700000000", "address": "幸福街9号"}


async def user_cylinder(c: httpx.AsyncClient, made: str, inspected: str | None = None, cust: str = "U1") -> str:
    body: dict[str, Any] = {"event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M09",
                            "manufactured_on": made, "owner": {"customer_id": cust}}
    if inspected:
        body["last_inspected_on"] = inspected
    return (await f.ok(await c.post("/api/v1/cylinders", json=body), 201))["code"]


async def full_company_cylinder(c: httpx.AsyncClient) -> str:
    code = (await f.cylinder(c))["code"]
    assert (await f.fill(c, code)).status_code == 201
    return code


async def swap(c: httpx.AsyncClient, old: str, new: str, residual: float = 2.0, **extra: Any) -> httpx.Response:
    return await c.post("/api/v1/swaps", json={"event_id": f.eid(), "old_code": old, "new_code": new,
                                               "customer_id": "U1", "occurred_at": NOW, "residual_kg": residual,
                                               **extra})


async def test_quote_at_the_anniversaries(client: httpx.AsyncClient) -> None:
    await f.town(client)
    code = await user_cylinder(client, "2019-11-28")
    on_anniversary = await f.ok(await client.post("/api/v1/swaps/quote", json={
        "code": code, "on": "2026-11-28", "residual_kg": 1.0}))
    assert on_anniversary["branch"] == "inspection_fee" and on_anniversary["user_pays_cny"] == 70
    assert on_anniversary["basis"] == {"age_years": 7, "years_since_inspection": 7}
    day_after = await f.ok(await client.post("/api/v1/swaps/quote", json={
        "code": code, "on": "2026-11-29", "residual_kg": 1.0, "recycle_price_cny": 45}))
    assert {k: day_after[k] for k in ("branch", "user_pays_cny", "deposit_cny", "company_pays_user_cny",
                                      "topup_kg", "subsidy_cny")} == {
        "branch": "recycle", "user_pays_cny": 0, "deposit_cny": 200, "company_pays_user_cny": 45,
        "topup_kg": 1.0, "subsidy_cny": 10}
    assert (await client.post("/api/v1/swaps/quote", json={"code": code, "on": "2020-01-01",
                                                           "residual_kg": 0})).status_code == 422  # no policy


async def test_each_branch_and_the_old_cylinder_path(client: httpx.AsyncClient, clock: Clock) -> None:
    await f.town(client)
    old_free = await user_cylinder(client, "2024-01-01")
    old_fee = await user_cylinder(client, "2020-06-01")
    old_recycle = await user_cylinder(client, "2018-06-01")
    free = await f.ok(await swap(client, old_free, await full_company_cylinder(client)), 201)
    fee = await f.ok(await swap(client, old_fee, await full_company_cylinder(client), residual=0), 201)
    recycle = await f.ok(await swap(client, old_recycle, await full_company_cylinder(client), residual=3.5), 201)
    assert (free["branch"], free["user_pays_cny"], free["deposit_cny"]) == ("free", 0, 0)
    assert (fee["branch"], fee["user_pays_cny"]) == ("inspection_fee", 70)
    assert (recycle["branch"], recycle["deposit_cny"], recycle["company_pays_user_cny"], recycle["subsidy_cny"]) == (
        "recycle", 200, 50, 10)
    assert recycle["old"]["status"] == "scrapped" and recycle["new"]["status"] == "at_customer"
    assert recycle["new"]["customer_id"] == "U1"
    # the kept cylinder is the company's now, and waits for an inspection and a smart valve
    kept = free["old"]
    assert kept["owner"] == {"company_id": "C1"} and kept["status"] == "empty_in_stock"
    check = await f.ok(await client.post("/api/v1/fill-checks", json={"code": old_free, "station_id": "S1"}))
    assert rules(check) == ["FILL_SWAP_INSPECTION_PENDING", "FILL_NO_SMART_VALVE"]
    await f.ok(await client.post("/api/v1/inspections", json={
        "event_id": f.eid(), "code": old_free, "agency_id": "A1", "occurred_at": NOW, "result": "pass"}), 201)
    check = await f.ok(await client.post("/api/v1/fill-checks", json={"code": old_free, "station_id": "S1"}))
    assert rules(check) == ["FILL_NO_SMART_VALVE"]
    await fit(client, old_free, "V-OLD1")
    check = await f.ok(await client.post("/api/v1/fill-checks", json={"code": old_free, "station_id": "S1"}))
    assert check["allowed"] is True
    # swap stream: the swap and its money lines as events
    history = await f.ok(await client.get(f"/api/v1/cylinders/{old_recycle}/history"))
    assert [e["type"] for e in history["events"]][-2:] == ["CylinderSwappedOut", "CylinderScrapped"]
    ledger = await f.ok(await client.get("/api/v1/ledgers/swaps", params={"company_id": "C1"}))
    assert [r["branch"] for r in ledger["rows"]] == ["free", "inspection_fee", "recycle"]
    assert len(ledger["rows"][2]["event_ids"]) == 5  # executed, deposit, payout, topup, subsidy
    assert ledger["totals"] == {"count": 3, "by_branch": {"free": 1, "inspection_fee": 1, "recycle": 1},
                                "user_pays_cny": 70, "deposit_cny": 200, "deposit_refunded_cny": 0,
                                "deposit_held_cny": 200, "company_pays_user_cny": 50, "subsidy_cny": 10,
                                "topup_kg": 5.5}
    # refund the deposit: once, and only for a swap that took one
    sid = recycle["swap_id"]
    clock.advance(days=23)  # the refund below happens on 2026-12-20
    refund = {"event_id": f.eid(), "occurred_at": "2026-12-20T10:00:00+08:00", "returned_code": recycle["new_code"]}
    assert (await client.post(f"/api/v1/swaps/{free['swap_id']}/refund-deposit", json=refund)).status_code == 422
    refunded = await f.ok(await client.post(f"/api/v1/swaps/{sid}/refund-deposit", json=refund), 201)
    assert refunded["refunded_cny"] == 200
    again = {**refund, "event_id": f.eid()}
    assert (await client.post(f"/api/v1/swaps/{sid}/refund-deposit", json=again)).status_code == 409
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{recycle['new_code']}")))["status"] == "empty_in_stock"
    ledger = await f.ok(await client.get("/api/v1/ledgers/swaps"))
    assert ledger["rows"][2]["deposit_refunded_on"] == "2026-12-20" and ledger["totals"]["deposit_held_cny"] == 0


async def test_refused_swaps_list_every_rule(client: httpx.AsyncClient) -> None:
    await f.town(client)
    company_owned = (await f.cylinder(client))["code"]
    empty_new = (await f.cylinder(client, model="YSP118-II"))["code"]
    refused = await swap(client, company_owned, empty_new)
    assert refused.status_code == 422
    assert set(rules(refused.json())) == {"LIFECYCLE_INVALID_TRANSITION", "SWAP_OLD_NOT_CUSTOMER_OWNED",
                                          "DELIVERY_DUAL_PHASE"}
    history = await f.ok(await client.get(f"/api/v1/cylinders/{company_owned}/history"))
    assert history["events"][-1]["type"] == "SwapRefused"
    assert (await client.post("/api/v1/swaps/nope/refund-deposit", json={
        "event_id": f.eid(), "occurred_at": NOW, "returned_code": empty_new})).status_code == 404


async def test_subsidy_ledger_to_the_yuan_with_exports(client: httpx.AsyncClient, services: Services,
                                                       clock: Clock) -> None:
    await f.town(client)
    a = await new_cylinder(client, "V1")
    await new_cylinder(client, "V2")
    # the same valve refitted to the same cylinder earns once; a customer's cylinder earns nothing
    await f.ok(await client.post(f"/api/v1/cylinders/{a}/valve",
                                 json={"event_id": f.eid(), "valve_id": "V1", "occurred_at": NOW}), 201)
    users = await user_cylinder(client, "2016-01-01")
    clock.advance(days=4)  # the scrap below happens on 2026-12-01
    partial = {"event_id": f.eid(), "reason": "超期报废", "occurred_at": "2026-12-01T10:00:00+08:00",
               "company_id": "C1", "handed_in_by": {"name": "赵六", "phone": "13700000000", "address": "幸福街9号"}}
    response = await client.post(f"/api/v1/cylinders/{users}/scrap", json=partial)
    assert response.status_code == 422 and "id_number" in response.text
    await f.ok(await client.post(f"/api/v1/cylinders/{users}/scrap", json={**partial, "handed_in_by": HANDED}),
               201)
    own = (await f.cylinder(client))["code"]
    await f.ok(await client.post(f"/api/v1/cylinders/{own}/scrap", json={
        "event_id": f.eid(), "reason": "不合格", "occurred_at": NOW, "company_id": "C1", "handed_in_by": HANDED}),
        201)
    ledger = await f.ok(await client.get("/api/v1/ledgers/subsidies", params={"company_id": "C1"}))
    assert [(r["month"], r["kind"], r["count"], r["amount_cny"]) for r in ledger["rows"]] == [
        ("2026-11", "smart_valve", 2, 60), ("2026-12", "recycling", 1, 10)]
    assert ledger["total_cny"] == 70 and all(len(r["event_ids"]) == r["count"] for r in ledger["rows"])
    november = await f.ok(await client.get("/api/v1/ledgers/subsidies",
                                           params={"from": "2026-11-01", "to": "2026-11-30"}))
    assert november["total_cny"] == 60
    assert (await client.get("/api/v1/ledgers/subsidies", params={"from": "2026-12-02", "to": "2026-12-01"})
            ).status_code == 422
    as_csv = await client.get("/api/v1/ledgers/subsidies", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ["责任企业 (company_id)", "月份 (month)", "类别 (kind)", "数量 (count)", "金额(元) (amount_cny)",
                       "补贴依据 (by_basis)", "事件编号 (event_ids)"]
    assert rows[2][5] == '{"life_expired": 1}' and rows[1][5] == ""
    assert rows[-1][0] == "合计 total" and rows[-1][4] == "70"
    sheet = xlsx_rows((await client.get("/api/v1/ledgers/subsidies", params={"format": "xlsx"})).content)
    assert sheet[1][:5] == ("C1", "2026-11", "smart_valve", 2, 60) and sheet[-1][4] == 70
    swaps_sheet = xlsx_rows((await client.get("/api/v1/ledgers/swaps", params={"format": "xlsx"})).content)
    assert swaps_sheet[0][0] == "置换编号 (swap_id)" and swaps_sheet[-1][0] == "合计 total"
    # the ledgers are projections: rebuilt from zero they say the same
    async with services.engine.begin() as conn:
        await rebuild(conn, [LedgersProjection(services.settings.timezone)])
    assert await f.ok(await client.get("/api/v1/ledgers/subsidies", params={"company_id": "C1"})) == ledger
