from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.domain.codes import make_grai
from tests.conftest import Clock
from tests.support import factories as f


async def test_idempotent_by_event_id(client: httpx.AsyncClient) -> None:
    await f.town(client)
    body = {"event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M", "manufactured_on": "2024-01-01",
            "owner": {"company_id": "C1"}}
    first = await f.ok(await client.post("/api/v1/cylinders", json=body), 201)
    again = await client.post("/api/v1/cylinders", json=body)
    assert again.status_code == 201 and again.json() == first
    other = await client.post("/api/v1/cylinders", json={**body, "manufactured_on": "2024-02-01"})
    assert other.status_code == 409
    listing = await f.ok(await client.get("/api/v1/cylinders"))
    assert [c["code"] for c in listing["items"]] == [first["code"]]


async def test_a_given_code_is_validated_and_used_once(client: httpx.AsyncClient) -> None:
    await f.company(client, gs1_company_prefix="6901234")
    cyl = await f.cylinder(client, code="06901234000016CYL0001", serial=None)
    assert cyl["code"] == "06901234000016CYL0001" and cyl["epc"] == "urn:epc:id:grai:6901234.00001.CYL0001"
    dup = await client.post("/api/v1/cylinders", json={
        "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M", "manufactured_on": "2024-01-01",
        "owner": {"company_id": "C1"}, "code": "06901234000016CYL0001"})
    assert dup.status_code == 409
    generated = await f.cylinder(client)
    assert generated["code"] == make_grai("6901234", 4, "1").code  # YSP35.5 → asset type 00004, serial 1
    assert generated["code"] == "069012340000471"


async def test_impossible_transition_names_the_current_state_and_is_stored(client: httpx.AsyncClient) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    refused = await f.deliver(client, code)
    assert refused.status_code == 422
    (violation,) = refused.json()["violations"]
    assert violation["rule"] == "LIFECYCLE_INVALID_TRANSITION"
    assert "empty_in_stock" in violation["message_en"] and violation["message_zh"]
    history = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history"))
    assert history["events"][-1]["type"] == "DeliveryRefused"


async def test_history_as_of_a_record_time(client: httpx.AsyncClient, clock: Clock) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    registered_at = clock.now
    clock.advance(hours=2)
    assert (await f.fill(client, code)).status_code == 201
    past = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history",
                                       params={"as_of": (registered_at + timedelta(minutes=1)).isoformat()}))
    assert [e["type"] for e in past["events"]] == ["CylinderRegistered"]
    assert past["state"]["status"] == "empty_in_stock"
    now = await f.ok(await client.get(f"/api/v1/cylinders/{code}"))
    assert now["status"] == "full_in_stock" and now["fill_count"] == 1


async def test_a_tampered_row_makes_verify_report_invalid(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    assert (await f.fill(client, code)).status_code == 201
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{code}/verify")))["valid"] is True
    async with services.engine.begin() as conn:
        await conn.execute(sa.text(
            "UPDATE events SET data = :d WHERE stream_id = :s AND version = 2"),
            {"d": '{"station_id": "S1", "filler_id": "F1", "net_mass_kg": 9.0, "checks": {}}', "s": f"cylinder:{code}"})
    report = await f.ok(await client.get(f"/api/v1/cylinders/{code}/verify"))
    assert report["valid"] is False and report["first_bad_version"] == 2


async def test_deleting_the_newest_event_is_detected(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    assert (await f.fill(client, code)).status_code == 201
    async with services.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM events WHERE stream_id = :s AND version = 2"),
                           {"s": f"cylinder:{code}"})
    report = await f.ok(await client.get(f"/api/v1/cylinders/{code}/verify"))
    assert report["valid"] is False


async def test_list_filters_and_pages(client: httpx.AsyncClient) -> None:
    await f.town(client)
    codes = [(await f.cylinder(client))["code"] for _ in range(5)]
    await f.cylinder(client, manufactured_on="2019-01-01")
    assert (await f.fill(client, codes[0])).status_code == 201
    full = await f.ok(await client.get("/api/v1/cylinders", params={"status": "full_in_stock"}))
    assert [c["code"] for c in full["items"]] == [codes[0]]
    overdue = await f.ok(await client.get("/api/v1/cylinders", params={"overdue": "true"}))
    assert [c["manufactured_on"] for c in overdue["items"]] == ["2019-01-01"]
    page1 = await f.ok(await client.get("/api/v1/cylinders", params={"limit": 4}))
    page2 = await f.ok(await client.get("/api/v1/cylinders", params={"limit": 4, "cursor": page1["next_cursor"]}))
    assert len(page1["items"]) == 4 and len(page2["items"]) == 2 and page2["next_cursor"] is None
    assert (await client.get("/api/v1/cylinders", params={"status": "lost"})).status_code == 422


async def test_today_is_the_local_day_for_the_dates_of_a_registration(client: httpx.AsyncClient, clock: Clock) -> None:
    await f.town(client)
    clock.now = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # 01:00 on 29 November in Asia/Shanghai
    inspected_today = await client.post("/api/v1/cylinders", json={
        "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2022-05-01",
        "owner": {"company_id": "C1"}, "last_inspected_on": "2026-11-29", "occurred_at": "2026-11-29T00:30:00+08:00"})
    assert inspected_today.status_code == 201, inspected_today.text
    tomorrow = await client.post("/api/v1/cylinders", json={
        "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2026-11-30",
        "owner": {"company_id": "C1"}, "occurred_at": "2026-11-29T00:30:00+08:00"})
    assert tomorrow.status_code == 422 and "manufactured_on" in tomorrow.text


async def test_an_event_id_stands_for_one_cylinder_named_in_the_path(client: httpx.AsyncClient) -> None:
    await f.town(client)
    first = str((await f.cylinder(client))["code"])
    second = str((await f.cylinder(client))["code"])
    seize = {"event_id": f.eid(), "reason": "非法充装", "occurred_at": "2026-11-28T10:00:00+08:00"}
    done = await f.ok(await client.post(f"/api/v1/cylinders/{first}/seize", json=seize), 201)
    assert (await client.post(f"/api/v1/cylinders/{first}/seize", json=seize)).json() == done  # a repeat
    elsewhere = await client.post(f"/api/v1/cylinders/{second}/seize", json=seize)
    assert elsewhere.status_code == 409  # the same event_id and body for another cylinder is no repeat
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{second}")))["status"] != "seized"
