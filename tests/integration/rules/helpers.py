"""Small helpers for the rules' HTTP tests (the town itself comes from ``tests.support.factories``)."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import load_workbook

from tests.support import factories as f

SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
NOW = "2026-11-28T10:00:00+08:00"


async def valve(c: httpx.AsyncClient, valve_id: str, company_id: str = "C1") -> None:
    await f.ok(await c.post("/api/v1/valves", json={"valve_id": valve_id, "company_id": company_id,
                                                   "secret": SECRET}))


async def fit(c: httpx.AsyncClient, code: str, valve_id: str, at: str = NOW) -> dict[str, Any]:
    await valve(c, valve_id)
    return await f.ok(await c.post(f"/api/v1/cylinders/{code}/valve",
                                   json={"event_id": f.eid(), "valve_id": valve_id, "occurred_at": at}), 201)


async def new_cylinder(c: httpx.AsyncClient, valve_id: str | None = None, **extra: Any) -> str:
    """A cylinder the company acquired now (after 2023-09-30), with a smart valve unless told otherwise."""
    code = (await f.cylinder(c, **{"occurred_at": NOW, "manufactured_on": "2025-01-01", **extra}))["code"]
    if valve_id is not None:
        await fit(c, code, valve_id)
    return code


async def restaurant(c: httpx.AsyncClient, cid: str = "R1", **premises: bool) -> None:
    p = {"underground": False, "gas_alarm": True, "emergency_shutoff": True, "cylinder_room": False, **premises}
    await f.customer(c, cid, kind="non_residential", name="李记饭店", id_number="91220800MA00000001",
                     contract_no="HT-2026-001", premises=p)


async def findings(c: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    return (await f.ok(await c.get("/api/v1/findings", params={"limit": 500, **params})))["items"]


def rules(body: dict[str, Any], key: str = "violations") -> list[str]:
    return [v["rule"] for v in body[key]]


def xlsx_rows(content: bytes) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


async def collect(c: httpx.AsyncClient, code: str, at: str, customer_id: str = "U1") -> httpx.Response:
    return await c.post("/api/v1/collections", json={"event_id": f.eid(), "code": code, "customer_id": customer_id,
                                                     "worker_id": "D1", "occurred_at": at})
