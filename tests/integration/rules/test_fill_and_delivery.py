"""Fill checks, fills and deliveries through HTTP: every broken rule listed, refusals stored, findings opened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from cylinder_trace.app.services import Services
from cylinder_trace.app.unit_of_work import Tx
from cylinder_trace.domain.codes import make_grai
from cylinder_trace.domain.cylinder import CylinderState
from tests.conftest import Clock
from tests.support import factories as f

from .helpers import NOW, collect, findings, new_cylinder, restaurant, rules


async def test_fill_check_tells_and_stores_nothing_for_a_good_cylinder(client: httpx.AsyncClient) -> None:
    await f.town(client)
    code = await new_cylinder(client, "V1")
    body = await f.ok(await client.post("/api/v1/fill-checks", json={"code": code, "station_id": "S1",
                                                                      "filler_id": "F1"}))
    assert body == {"code": code, "allowed": True, "violations": [], "warnings": []}
    history = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history"))
    assert [e["type"] for e in history["events"]] == ["CylinderRegistered", "SmartValveFitted"]


async def test_a_new_company_cylinder_needs_a_smart_valve(client: httpx.AsyncClient) -> None:
    await f.town(client)
    code = await new_cylinder(client)
    check = await f.ok(await client.post("/api/v1/fill-checks", json={"code": code, "station_id": "S1"}))
    assert check["allowed"] is False and rules(check) == ["FILL_NO_SMART_VALVE"]
    refused = await f.fill(client, code)
    assert refused.status_code == 422 and rules(refused.json()) == ["FILL_NO_SMART_VALVE"]
    (finding,) = await findings(client, rule="FILL_NO_SMART_VALVE")
    assert finding["subject"] == f"cylinder:{code}" and finding["company_id"] == "C1"
    cyl = await f.ok(await client.get(f"/api/v1/cylinders/{code}"))
    assert cyl["open_findings"] == 1


async def test_a_refused_fill_lists_every_rule_and_is_stored(client: httpx.AsyncClient) -> None:
    await f.town(client)
    await f.company(client, "C2", name="别家燃气")
    code = (await f.cylinder(client, company_id="C2", model="YSP118-II", manufactured_on="2019-01-01"))["code"]
    await client.patch("/api/v1/staff/F1", json={"certificate_valid_until": "2026-11-27"})
    response = await f.fill(client, code, net_mass_kg=52.0)
    assert response.status_code == 422
    body = response.json()
    assert set(rules(body)) == {"FILL_OVERDUE_INSPECTION", "FILL_DUAL_PHASE_VALVE", "FILL_NOT_OWNED",
                                "FILL_FILLER_UNCERTIFIED", "FILL_OVERFILL"}
    assert all(v["severity"] == "block" and v["message_zh"] and v["message_en"] for v in body["violations"])
    history = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history"))
    refusal = history["events"][-1]
    assert refusal["type"] == "FillRefused" and refusal["data"]["command"]["net_mass_kg"] == 52.0
    opened = {(x["rule"], x["subject"], x["company_id"]) for x in await findings(client)}
    assert opened == {
        ("FILL_OVERDUE_INSPECTION", f"cylinder:{code}", "C2"), ("FILL_DUAL_PHASE_VALVE", f"cylinder:{code}", "C2"),
        ("FILL_NOT_OWNED", "station:S1", "C1"), ("FILL_FILLER_UNCERTIFIED", "company:C1", "C1"),
        ("FILL_OVERFILL", "station:S1", "C1"),
    }


async def test_overfill_is_refused_then_the_corrected_fill_is_accepted(client: httpx.AsyncClient) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    refused = await f.fill(client, code, net_mass_kg=15.2)
    assert refused.status_code == 422 and rules(refused.json()) == ["FILL_OVERFILL"]
    assert refused.json()["violations"][0]["detail"]["net_mass_kg"] == 15.2
    assert (await f.fill(client, code, net_mass_kg=14.9)).status_code == 201


async def test_black_and_scrapped_cylinders_are_evidence_even_in_a_check(client: httpx.AsyncClient) -> None:
    await f.town(client)
    black = make_grai("6999999", 4, "NOBODY1").code
    check = await f.ok(await client.post("/api/v1/fill-checks", json={"code": black, "station_id": "S1"}))
    assert check["allowed"] is False and rules(check) == ["FILL_UNKNOWN_CODE"]
    (finding,) = await findings(client, rule="FILL_UNKNOWN_CODE")
    assert (finding["subject"], finding["severity"], finding["company_id"]) == ("station:S1", "high", "C1")
    refused = await f.fill(client, black)
    assert refused.status_code == 422 and rules(refused.json()) == ["FILL_UNKNOWN_CODE"]
    again = await f.ok(await client.get(f"/api/v1/findings/{finding['id']}"))
    assert again["evidence_count"] == 2 and len(again["evidence_event_ids"]) == 2

    code = (await f.cylinder(client))["code"]
    await f.ok(await client.post(f"/api/v1/cylinders/{code}/scrap",
                                 json={"event_id": f.eid(), "reason": "超期", "occurred_at": NOW, "company_id": "C1"}))
    check = await f.ok(await client.post("/api/v1/fill-checks", json={"code": code, "station_id": "S1"}))
    assert rules(check) == ["LIFECYCLE_INVALID_TRANSITION", "FILL_SCRAPPED"]
    assert rules(check, "warnings") == ["SCRAPPED_CYLINDER_REAPPEARED"]
    refused = await f.fill(client, code)
    assert refused.status_code == 422
    assert "SCRAPPED_CYLINDER_REAPPEARED" in rules(refused.json(), "warnings")
    (reappeared,) = await findings(client, rule="SCRAPPED_CYLINDER_REAPPEARED")
    assert reappeared["severity"] == "high" and reappeared["evidence_count"] == 2


async def test_deliveries_to_a_restaurant(client: httpx.AsyncClient) -> None:
    await f.town(client)
    await restaurant(client, "R1", gas_alarm=False, underground=True)
    codes = [(await f.cylinder(client, model="YSP118"))["code"] for _ in range(3)]
    for code in codes:
        assert (await f.fill(client, code, net_mass_kg=49.0)).status_code == 201
    refused = await f.deliver(client, codes[0], customer_id="R1", safety_check=None)
    assert refused.status_code == 422
    assert rules(refused.json()) == ["DELIVERY_NO_GAS_ALARM", "DELIVERY_UNDERGROUND"]
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{codes[0]}/history")))["events"][-1]["type"] == \
        "DeliveryRefused"
    await client.patch("/api/v1/customers/R1", json={"premises": {"underground": False, "gas_alarm": True,
                                                                  "emergency_shutoff": True, "cylinder_room": False}})
    for code in codes[:2]:
        assert (await f.deliver(client, code, customer_id="R1", safety_check=None)).status_code == 201
    third = await f.deliver(client, codes[2], customer_id="R1", safety_check=None)
    assert third.status_code == 422 and rules(third.json()) == ["DELIVERY_STORAGE_OVER_100KG"]
    assert third.json()["violations"][0]["detail"]["total_kg"] == 148.5
    subjects = {(x["rule"], x["subject"]) for x in await findings(client, company_id="C1")}
    assert ("DELIVERY_STORAGE_OVER_100KG", "customer:R1") in subjects


async def test_an_empty_dual_phase_delivery_reports_both_rules(client: httpx.AsyncClient) -> None:
    await f.town(client)
    code = (await f.cylinder(client, model="YSP118-II"))["code"]
    refused = await f.deliver(client, code)
    assert refused.status_code == 422
    assert {"LIFECYCLE_INVALID_TRANSITION", "DELIVERY_DUAL_PHASE"} <= set(rules(refused.json()))


async def test_safety_checks_hazards_and_supply_suspension(client: httpx.AsyncClient, clock: Clock) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    assert (await f.fill(client, code)).status_code == 201
    # a residential delivery without check and notice is recorded, with a high finding
    delivered = await f.ok(await f.deliver(client, code, safety_check=None), 201)
    assert rules(delivered, "warnings") == ["SAFETY_CHECK_MISSING"]
    (missing,) = await findings(client, rule="SAFETY_CHECK_MISSING")
    assert (missing["subject"], missing["severity"]) == ("customer:U1", "high")
    check = {"event_id": f.eid(), "customer_id": "U1", "worker_id": "D1", "occurred_at": NOW,
             "notice_given": True, "customer_signed": True, "hazards": [{"kind": "软管老化", "note": "胶管龟裂"}]}
    recorded = await f.ok(await client.post("/api/v1/safety-checks", json=check), 201)
    assert recorded["rectify_by"] == "2026-12-05"
    (hazard,) = await findings(client, rule="HAZARD_FOUND")
    assert (hazard["due_on"], hazard["severity"], hazard["subject"]) == ("2026-12-05", "high", "customer:U1")

    code2 = (await f.cylinder(client))["code"]
    clock.advance(days=8)  # to 2026-12-06: the events below lie in the past, as event times must
    assert (await f.fill(client, code2, at="2026-12-05T09:00:00+08:00")).status_code == 201
    # due today: supply continues; the day after: suspended
    on_due_day = await f.deliver(client, code2, at="2026-12-05T23:59:00+08:00")
    assert on_due_day.status_code == 201
    await f.ok(await collect(client, code2, "2026-12-06T08:00:00+08:00"), 201)
    assert (await f.fill(client, code2, at="2026-12-06T09:00:00+08:00")).status_code == 201
    suspended = await f.deliver(client, code2, at="2026-12-06T10:00:00+08:00")
    assert suspended.status_code == 422 and rules(suspended.json()) == ["DELIVERY_SUPPLY_SUSPENDED"]
    # the company rectifies: supply resumes
    admin = await f.token(client, "company_admin", company_id="C1")
    await f.ok(await client.post(f"/api/v1/findings/{hazard['id']}/rectify", json={"note": "已更换胶管"},
                                 headers=admin))
    assert (await f.deliver(client, code2, at="2026-12-06T11:00:00+08:00")).status_code == 201


async def test_days_are_shanghai_days(client: httpx.AsyncClient, clock: Clock) -> None:
    """17:00 UTC on 29 September is already 30 September in Asia/Shanghai: the smart-valve rule applies."""
    await f.town(client)
    late = (await f.cylinder(client, occurred_at="2023-09-29T17:00:00Z"))["code"]
    early = (await f.cylinder(client, occurred_at="2023-09-29T15:59:59Z"))["code"]
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{late}")))["registered_on"] == "2023-09-30"
    assert rules(await f.ok(await client.post("/api/v1/fill-checks", json={"code": late, "station_id": "S1"}))) == [
        "FILL_NO_SMART_VALVE"]
    assert (await f.ok(await client.post("/api/v1/fill-checks", json={"code": early, "station_id": "S1"})))["allowed"]
    inspected = await f.ok(await client.post("/api/v1/inspections", json={
        "event_id": f.eid(), "code": early, "agency_id": "A1", "occurred_at": "2026-11-27T16:30:00Z",
        "result": "pass"}), 201)
    assert inspected["last_inspected_on"] == "2026-11-28" and inspected["next_inspection_due"] == "2030-11-28"
    # a fill recorded at 23:30 UTC on the due day's eve is on the due day in Shanghai: fine
    clock.advance(days=2)  # the fills below happened before now
    due = (await f.cylinder(client, manufactured_on="2022-11-29"))["code"]  # due 2026-11-29
    assert (await f.fill(client, due, at="2026-11-28T17:30:00Z")).status_code == 201
    also_due = (await f.cylinder(client, manufactured_on="2022-11-29"))["code"]
    late_fill = await f.fill(client, also_due, at="2026-11-29T16:30:00Z")  # 30 November in Shanghai
    assert late_fill.status_code == 422 and rules(late_fill.json()) == ["FILL_OVERDUE_INSPECTION"]


async def test_the_authorization_hook_is_asked_only_for_an_allowed_smart_valve_fill(
        client: httpx.AsyncClient, services: Services) -> None:
    asked: list[tuple[str, str, str]] = []

    @dataclass(frozen=True)
    class Issued:
        auth_id: str

        def to_json(self) -> dict[str, Any]:
            return {"auth_id": self.auth_id, "expires": "2026-11-28T02:15:00+00:00"}

    async def authorize(tx: Tx, state: CylinderState, station_id: str, *, actor: str) -> Issued:
        asked.append((state.code, station_id, actor))
        return Issued(f"auth-{len(asked)}")

    await f.town(client)
    with_valve = await new_cylinder(client, "V1")
    without = (await f.cylinder(client))["code"]
    overdue = await new_cylinder(client, "V2", manufactured_on="2021-01-01")
    services.fill_authorizer = authorize
    try:
        allowed = await f.ok(await client.post("/api/v1/fill-checks", json={"code": with_valve, "station_id": "S1"}))
        plain = await f.ok(await client.post("/api/v1/fill-checks", json={"code": without, "station_id": "S1"}))
        refused = await f.ok(await client.post("/api/v1/fill-checks", json={"code": overdue, "station_id": "S1"}))
    finally:
        services.fill_authorizer = None
    assert allowed["authorization"] == {"auth_id": "auth-1", "expires": "2026-11-28T02:15:00+00:00"}
    assert "authorization" not in plain and plain["allowed"] is True
    assert "authorization" not in refused and refused["allowed"] is False
    assert asked == [(with_valve, "S1", "admin:admin")]
