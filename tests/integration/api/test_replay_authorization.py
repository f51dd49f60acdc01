"""Hole 3 of issue 10: authorization is checked on every request, replays included (API.md, Conventions).

Sending another party's exact body with its ``event_id`` is refused exactly as the same body with a new
``event_id`` would be (403/404), never answered with the stored result. On PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.security.towns import NOW, delivered_cylinder, delivery, full_cylinder, two_companies
from tests.support import factories as f


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


async def replayed(c: httpx.AsyncClient, path: str, body: dict[str, Any], owner: dict[str, str],
                   other: dict[str, str]) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
    """The owner's first answer, another party's replay of the same body, and the same body under a new
    event_id from that other party."""
    first = await c.post(path, json=body, headers=owner)
    replay = await c.post(path, json=body, headers=other)
    fresh = await c.post(path, json={**body, "event_id": f.eid()}, headers=other)
    return first, replay, fresh


async def test_a_replayed_delivery_is_authorized_like_a_new_one(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    ours = await f.token(client, "delivery_worker", company_id="C1", staff_id="D1")
    theirs = await f.token(client, "delivery_worker", company_id="C2", staff_id="D2")
    body = delivery(await full_cylinder(client, "C1"), "U1", "D1", "吉G10001")
    first, replay, fresh = await replayed(client, "/api/v1/deliveries", body, ours, theirs)
    assert first.status_code == 201
    assert fresh.status_code == 403
    assert replay.status_code == fresh.status_code and "event_ids" not in replay.text
    # the owner's own repeat is still answered with the first result
    again = await client.post("/api/v1/deliveries", json=body, headers=ours)
    assert again.status_code == 201 and again.json() == first.json()
    inspector = await f.token(client, "inspector", agency_id="A1")
    assert (await client.post("/api/v1/deliveries", json=body, headers=inspector)).status_code == 403


async def test_a_replayed_safety_check_is_authorized_like_a_new_one(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    ours = await f.token(client, "delivery_worker", company_id="C1", staff_id="D1")
    theirs = await f.token(client, "company_admin", company_id="C2")
    body = {"event_id": f.eid(), "customer_id": "U1", "worker_id": "D1", "occurred_at": NOW, "notice_given": True,
            "customer_signed": True, "hazards": [{"kind": "软管老化"}]}
    first, replay, fresh = await replayed(client, "/api/v1/safety-checks", body, ours, theirs)
    assert (first.status_code, fresh.status_code) == (201, 403)
    assert replay.status_code == 403 and "rectify_by" not in replay.text


async def test_a_replayed_scrap_is_authorized_like_a_new_one(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    ours = await f.token(client, "company_admin", company_id="C1")
    theirs = await f.token(client, "company_admin", company_id="C2")
    code = (await f.cylinder(client, "C1"))["code"]
    body = {"event_id": f.eid(), "reason": "报废", "occurred_at": NOW, "company_id": "C1"}
    first = await client.post(f"/api/v1/cylinders/{code}/scrap", json=body, headers=ours)
    assert first.status_code == 201
    replay = await client.post(f"/api/v1/cylinders/{code}/scrap", json=body, headers=theirs)
    assert replay.status_code == 403


async def test_a_replayed_deposit_refund_is_authorized_like_a_new_one(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    ours = await f.token(client, "delivery_worker", company_id="C1", staff_id="D1")
    theirs = await f.token(client, "delivery_worker", company_id="C2", staff_id="D2")
    old = (await f.ok(await client.post("/api/v1/cylinders", json={
        "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2018-06-01",
        "owner": {"customer_id": "U1"}, "occurred_at": "2024-06-01T09:00:00+08:00"}), 201))["code"]
    new = await full_cylinder(client, "C1")
    swap = await f.ok(await client.post("/api/v1/swaps", json={
        "event_id": f.eid(), "old_code": old, "new_code": new, "customer_id": "U1", "occurred_at": NOW,
        "residual_kg": 1.0}), 201)
    path = f"/api/v1/swaps/{swap['swap_id']}/refund-deposit"
    body = {"event_id": f.eid(), "occurred_at": "2026-11-28T10:00:00+08:00", "returned_code": new}
    first = await client.post(path, json=body, headers=ours)
    assert first.status_code == 201, first.text
    replay = await client.post(path, json=body, headers=theirs)
    assert replay.status_code == 403 and "refunded_cny" not in replay.text


async def test_a_collection_replayed_by_another_company_is_refused(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    ours = await f.token(client, "delivery_worker", company_id="C1", staff_id="D1")
    theirs = await f.token(client, "delivery_worker", company_id="C2", staff_id="D2")
    code = await delivered_cylinder(client, "C1")
    body = {"event_id": f.eid(), "code": code, "customer_id": "U1", "worker_id": "D1",
            "occurred_at": "2026-11-28T10:00:00+08:00"}
    assert (await client.post("/api/v1/collections", json=body, headers=ours)).status_code == 201
    assert (await client.post("/api/v1/collections", json=body, headers=theirs)).status_code == 403
