"""Small typed factories that build a town through the real HTTP API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def eid() -> str:
    return str(uuid.uuid4())


async def ok(response: httpx.Response, *expected: int) -> dict[str, Any]:
    codes = expected or (200, 201)
    assert response.status_code in codes, f"{response.status_code}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def company(c: httpx.AsyncClient, cid: str = "C1", **extra: Any) -> dict[str, Any]:
    body = {
        "id": cid,
        "name": "大岗子燃气有限公司",
        "licence_no": "JL-GAS-001",
        "licence_valid_until": "2030-12-31",
        **extra,
    }
    return await ok(await c.post("/api/v1/companies", json=body))


async def station(c: httpx.AsyncClient, sid: str = "S1", company_id: str = "C1", **extra: Any) -> dict[str, Any]:
    body = {
        "id": sid,
        "company_id": company_id,
        "name": "一号充装站",
        "licence_no": "TS-001",
        "licence_valid_until": "2030-12-31",
        **extra,
    }
    return await ok(await c.post("/api/v1/stations", json=body))


async def staff(
    c: httpx.AsyncClient, staff_id: str, kind: str = "filler", company_id: str = "C1", **extra: Any
) -> dict[str, Any]:
    body = {
        "id": staff_id,
        "company_id": company_id,
        "name": "王师傅",
        "phone": "13800000001",
        "kind": kind,
        "certificate_no": f"CERT-{staff_id}",
        "certificate_valid_until": "2030-12-31",
        **extra,
    }
    return await ok(await c.post("/api/v1/staff", json=body))


async def vehicle(c: httpx.AsyncClient, plate: str = "吉G12345", company_id: str = "C1") -> dict[str, Any]:
    body = {"plate": plate, "company_id": company_id, "permit_no": "WX-1", "permit_valid_until": "2030-12-31"}
    return await ok(await c.post("/api/v1/vehicles", json=body))


async def agency(c: httpx.AsyncClient, aid: str = "A1") -> dict[str, Any]:
    body = {"id": aid, "name": "白城市气瓶检验所", "licence_no": "JY-1", "licence_valid_until": "2030-12-31"}
    return await ok(await c.post("/api/v1/agencies", json=body))


async def customer(
    c: httpx.AsyncClient, cust_id: str = "U1", company_id: str = "C1", kind: str = "residential", **extra: Any
) -> dict[str, Any]:
    body = {
        "id": cust_id,
        "company_id": company_id,
        "kind": kind,
        "name": "张三",
        "id_number": "220102199001011234",
        "phone": "13900000000",
        "address": "大岗子镇幸福街1号",
        **extra,
    }
    return await ok(await c.post("/api/v1/customers", json=body))


async def cylinder(
    c: httpx.AsyncClient,
    company_id: str = "C1",
    model: str = "YSP35.5",
    manufactured_on: str = "2023-05-01",
    **extra: Any,
) -> dict[str, Any]:
    """A company cylinder of the fleet as it stood before 2023-09-30, so the smart-valve rule
    (FILL_NO_SMART_VALVE) does not apply; pass a later ``occurred_at`` for a newly acquired one."""
    body = {
        "event_id": eid(),
        "model": model,
        "manufacturer_code": "M01",
        "manufactured_on": manufactured_on,
        "owner": {"company_id": company_id},
        "occurred_at": "2023-09-01T09:00:00+08:00",
        **extra,
    }
    return await ok(await c.post("/api/v1/cylinders", json=body), 201)


async def town(c: httpx.AsyncClient) -> None:
    """A company with a station, a filler, a delivery worker, a vehicle, an agency and a household."""
    await company(c)
    await station(c)
    await staff(c, "F1", "filler")
    await staff(c, "D1", "delivery_worker")
    await vehicle(c)
    await agency(c)
    await customer(c)


async def fill(c: httpx.AsyncClient, code: str, at: str = "2026-11-28T09:00:00+08:00", **extra: Any) -> httpx.Response:
    body = {
        "event_id": eid(),
        "code": code,
        "station_id": "S1",
        "filler_id": "F1",
        "occurred_at": at,
        "net_mass_kg": 14.5,
        "checks": {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True},
        **extra,
    }
    return await c.post("/api/v1/fills", json=body)


async def deliver(
    c: httpx.AsyncClient, code: str, at: str = "2026-11-28T10:00:00+08:00", **extra: Any
) -> httpx.Response:
    body = {
        "event_id": eid(),
        "code": code,
        "customer_id": "U1",
        "worker_id": "D1",
        "vehicle_plate": "吉G12345",
        "occurred_at": at,
        "safety_check": {"performed": True, "notice_given": True, "customer_signed": True, "hazards": []},
        **extra,
    }
    return await c.post("/api/v1/deliveries", json=body)


async def token(c: httpx.AsyncClient, role: str, **scope: str) -> dict[str, str]:
    """Headers for a new principal of ``role`` (``company_id``, ``staff_id`` … as its scope)."""
    body = await ok(await c.post("/api/v1/principals", json={"role": role, "name": f"{role} 王", **scope}), 201)
    return {"Authorization": f"Bearer {body['token']}"}
