"""Two companies side by side, each with a delivered cylinder, a refused fill (an open finding), a valve
earning a subsidy and a swap: what one company may see on the desk, and what it may not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.integration.rules.helpers import SECRET
from tests.support import factories as f
from tests.support.desk import token_of

MORNING = "2026-11-28T08:00:00+08:00"
HANDED_IN_BY = {"name": "赵六", "id_number": "220102198001019876", "phone": "13700000000", "address": "幸福街9号"}


@dataclass(frozen=True)
class Side:
    company: str
    delivered: str
    swapped_out: str
    finding: str
    valve: str
    admin: str


@dataclass(frozen=True)
class Town:
    c1: Side
    c2: Side
    regulator: str
    inspector: str


async def _company(c: httpx.AsyncClient, n: int) -> None:
    cid = f"C{n}"
    if n == 1:
        await f.town(c)
        return
    await f.company(c, cid, name=f"{n}号燃气有限公司")
    await f.station(c, f"S{n}", cid)
    await f.staff(c, f"F{n}", "filler", cid)
    await f.staff(c, f"D{n}", "delivery_worker", cid)
    await f.vehicle(c, f"吉G{n}{n}{n}{n}{n}", cid)
    await f.customer(c, f"U{n}", cid, name="王五", id_number=f"22010219900101{n}{n}{n}{n}")


async def _side(c: httpx.AsyncClient, n: int) -> Side:
    cid, station, filler, worker, customer = f"C{n}", f"S{n}", f"F{n}", f"D{n}", f"U{n}"
    await _company(c, n)
    plate = "吉G12345" if n == 1 else f"吉G{n}{n}{n}{n}{n}"
    work = {"station_id": station, "filler_id": filler}
    delivered = str((await f.cylinder(c, cid))["code"])
    await f.ok(await f.fill(c, delivered, at="2026-11-28T08:00:00+08:00", **work), 201)
    await f.ok(await f.deliver(c, delivered, at="2026-11-28T08:30:00+08:00", customer_id=customer,
                               worker_id=worker, vehicle_plate=plate), 201)
    refused = await f.fill(c, delivered, at="2026-11-28T09:00:00+08:00", **work)
    assert refused.status_code == 422, refused.text
    findings = await f.ok(await c.get("/api/v1/findings", params={"subject": f"cylinder:{delivered}"}))
    [finding] = [x for x in findings["items"] if x["rule"] == "LIFECYCLE_INVALID_TRANSITION"]
    valve = f"V{n}000001"
    await f.ok(await c.post("/api/v1/valves", json={"valve_id": valve, "company_id": cid, "secret": SECRET}))
    fitted = str((await f.cylinder(c, cid, occurred_at=MORNING, manufactured_on="2025-01-01"))["code"])
    await f.ok(await c.post(f"/api/v1/cylinders/{fitted}/valve",
                            json={"event_id": f.eid(), "valve_id": valve, "occurred_at": MORNING}), 201)
    swapped_out = await _swap(c, cid, customer, work)
    admin = await token_of(c, "company_admin", company_id=cid)
    return Side(cid, delivered, swapped_out, finding["id"], valve, admin)


async def _swap(c: httpx.AsyncClient, cid: str, customer: str, work: dict[str, str]) -> str:
    """A customer's own old cylinder swapped for a full company cylinder; returns the old one's code."""
    body: dict[str, Any] = {"event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M09",
                            "manufactured_on": "2024-03-01", "owner": {"customer_id": customer},
                            "occurred_at": MORNING}
    old = str((await f.ok(await c.post("/api/v1/cylinders", json=body), 201))["code"])
    new = str((await f.cylinder(c, cid))["code"])
    await f.ok(await f.fill(c, new, at=MORNING, **work), 201)
    await f.ok(await c.post("/api/v1/swaps", json={"event_id": f.eid(), "old_code": old, "new_code": new,
                                                   "customer_id": customer, "occurred_at": MORNING,
                                                   "residual_kg": 1.5}), 201)
    return old


async def two_companies(c: httpx.AsyncClient) -> Town:
    c1 = await _side(c, 1)
    c2 = await _side(c, 2)
    await f.agency(c)
    return Town(c1, c2, await token_of(c, "regulator"), await token_of(c, "inspector", agency_id="A1"))


async def scrap_with_hand_in(c: httpx.AsyncClient, code: str, company_id: str) -> None:
    """Scrap ``code``, recording the person who handed it in (an ID number in the cylinder's history)."""
    await f.ok(await c.post(f"/api/v1/cylinders/{code}/scrap", json={
        "event_id": f.eid(), "reason": "用户交回", "occurred_at": MORNING, "company_id": company_id,
        "handed_in_by": HANDED_IN_BY}), 201)
