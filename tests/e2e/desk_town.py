"""A small town seen through the desk in a real browser: two weeks of fills and deliveries, a cylinder
with a full life story (valve, fills, a safety check, a collection, an inspection, a refused overfill),
cylinders overdue at a customer and in stock, a rectified finding waiting to be closed, and a second
company whose cylinder the first must not see. Times are relative to now: the server runs on the real
clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from tests.integration.rules.helpers import SECRET
from tests.support import factories as f

LOCAL = timedelta(hours=8)


def at(days_ago: int, hour: int, minute: int = 0) -> str:
    """A local (UTC+8) time ``days_ago`` days before today."""
    today = (datetime.now(UTC) + LOCAL).date()
    moment = datetime.combine(today - timedelta(days=days_ago), datetime.min.time()).replace(hour=hour,
                                                                                           minute=minute)
    return moment.isoformat() + "+08:00"


def years_ago(years: int, days: int = 0) -> str:
    today = (datetime.now(UTC) + LOCAL).date()
    return (date(today.year - years, today.month, min(today.day, 28)) - timedelta(days=days)).isoformat()


@dataclass(frozen=True)
class DeskTown:
    base: str
    #: the cylinder with the long history
    story: str
    #: C2's cylinder, which C1 may not see
    foreign: str
    #: the FILL_OVERFILL finding C1 claimed rectified
    rectified_finding: str
    regulator: str
    c1_admin: str
    company_name: str


async def _post(c: httpx.AsyncClient, path: str, body: dict[str, Any], expected: int = 201,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    return await f.ok(await c.post(path, json={"event_id": f.eid(), **body}, headers=headers), expected)


async def _delivered_on(c: httpx.AsyncClient, days_ago: int, **cylinder: Any) -> str:
    code = str((await f.cylinder(c, **cylinder))["code"])
    await f.ok(await f.fill(c, code, at=at(days_ago, 8, 20)), 201)
    await f.ok(await f.deliver(c, code, at=at(days_ago, 10, 5)), 201)
    return code


async def _story(c: httpx.AsyncClient, inspector: dict[str, str]) -> str:
    code = str((await f.cylinder(c, manufactured_on="2022-06-01", last_inspected_on="2023-08-15"))["code"])
    await f.ok(await c.post("/api/v1/valves", json={"valve_id": "V0000001", "company_id": "C1", "secret": SECRET}))
    await _post(c, f"/api/v1/cylinders/{code}/valve", {"valve_id": "V0000001", "occurred_at": at(12, 15)})
    await f.ok(await f.fill(c, code, at=at(9, 8, 30)), 201)
    await f.customer(c, "U2", name="孙七", id_number="220102197505051234", address="大岗子镇兴隆街8号")
    await f.ok(await f.deliver(c, code, at=at(9, 10, 0), customer_id="U2", safety_check={
        "performed": True, "notice_given": True, "customer_signed": True,
        "hazards": [{"kind": "hose_aged", "note": "胶管老化，已告知更换"}]}), 201)
    await _post(c, "/api/v1/collections", {"code": code, "customer_id": "U2", "worker_id": "D1",
                                           "occurred_at": at(3, 16, 0), "residual_kg": 0.4})
    await _post(c, "/api/v1/inspections", {"code": code, "agency_id": "A1", "occurred_at": at(3, 17, 0),
                                           "result": "pass"}, headers=inspector)
    over = await f.fill(c, code, at=at(2, 9, 0), net_mass_kg=16.2)
    assert over.status_code == 422, over.text
    await f.ok(await f.fill(c, code, at=at(2, 9, 20)), 201)
    await f.ok(await f.deliver(c, code, at=at(1, 10, 30)), 201)
    return code


async def desk_town(base: str, admin_token: str) -> DeskTown:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {admin_token}"},
                                 timeout=60) as c:
        await f.town(c)
        await f.company(c, "C2", name="二道沟液化气站")
        inspector = await f.token(c, "inspector", agency_id="A1")
        story = await _story(c, inspector)
        for days_ago in (13, 11, 10, 8, 8, 6, 5, 5, 5, 4, 2, 1, 0):
            await _delivered_on(c, days_ago)
        await _delivered_on(c, 10, manufactured_on=years_ago(4, 5))  # delivered before its due date, overdue now
        stock = str((await f.cylinder(c, manufactured_on=years_ago(4, 2)))["code"])  # overdue in stock
        assert (await f.fill(c, stock, at=at(0, 8, 0))).status_code == 422
        await f.ok(await c.post("/api/v1/sweeps"))
        foreign = str((await f.cylinder(c, "C2"))["code"])
        company_admin = await f.token(c, "company_admin", company_id="C1")
        findings = await f.ok(await c.get("/api/v1/findings", params={"rule": "FILL_OVERFILL"}))
        [overfill] = findings["items"]
        await f.ok(await c.post(f"/api/v1/findings/{overfill['id']}/rectify",
                                json={"note": "充装秤已重新校准"}, headers=company_admin))
        regulator = await f.token(c, "regulator")
        company = await f.ok(await c.get("/api/v1/companies/C1"))
    return DeskTown(base, story, foreign, overfill["id"], regulator["Authorization"][7:],
                    company_admin["Authorization"][7:], str(company["name"]))
