"""Two companies side by side, each with a station, a filler, a delivery worker, a vehicle and a household;
two inspection agencies. Company C1 is "ours", C2 "the other"."""

from __future__ import annotations

import httpx

from tests.support import factories as f

NOW = "2026-11-28T09:00:00+08:00"


async def two_companies(c: httpx.AsyncClient) -> None:
    for n in ("1", "2"):
        await f.company(c, f"C{n}", gs1_company_prefix=f"690123{n}")
        await f.station(c, f"S{n}", f"C{n}")
        await f.staff(c, f"F{n}", "filler", f"C{n}")
        await f.staff(c, f"D{n}", "delivery_worker", f"C{n}")
        await f.vehicle(c, f"吉G1000{n}", f"C{n}")
        await f.customer(c, f"U{n}", f"C{n}")
        await f.agency(c, f"A{n}")
    await f.station(c, "S1B", "C1")


async def full_cylinder(c: httpx.AsyncClient, company: str = "C1") -> str:
    n = company[-1]
    code = str((await f.cylinder(c, company))["code"])
    await f.ok(await f.fill(c, code, station_id=f"S{n}", filler_id=f"F{n}"), 201)
    return code


async def delivered_cylinder(c: httpx.AsyncClient, company: str = "C1") -> str:
    n = company[-1]
    code = await full_cylinder(c, company)
    await f.ok(await f.deliver(c, code, customer_id=f"U{n}", worker_id=f"D{n}", vehicle_plate=f"吉G1000{n}"), 201)
    return code


def collection(code: str, customer: str, worker: str) -> dict[str, object]:
    return {"event_id": f.eid(), "code": code, "customer_id": customer, "worker_id": worker, "occurred_at": NOW}


def delivery(code: str, customer: str, worker: str, plate: str | None = None) -> dict[str, object]:
    return {"event_id": f.eid(), "code": code, "customer_id": customer, "worker_id": worker, "vehicle_plate": plate,
            "occurred_at": NOW, "safety_check": {"performed": True, "notice_given": True, "customer_signed": True,
                                                 "hazards": []}}
