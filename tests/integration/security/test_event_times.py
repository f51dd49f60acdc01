"""Hole 4: one event-time rule for every door; EPCIS never breaks on a stored time."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import factories as f

from .towns import collection, delivered_cylinder, two_companies

BAD_TIMES: list[Any] = [
    "9999-12-31T23:59:59Z",  # far future
    "1970-01-01T00:00:00Z",  # before the cylinder was made
    0,  # a bare number
    "1700000000",  # a number in a string
    "9999-12-31T23:59:59-12:00",  # its offset takes it off the calendar
    "0001-01-01T00:00:00+14:00",
    "2026-11-28T12:00:00+08:00",  # two hours after now (the tolerance is one)
]


@pytest.mark.parametrize("at", BAD_TIMES)
async def test_seizures_and_collections_refuse_times_that_are_no_event_time(client: httpx.AsyncClient,
                                                                           at: Any) -> None:
    await two_companies(client)
    code = await delivered_cylinder(client)
    history = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history"))
    seized = await client.post(f"/api/v1/cylinders/{code}/seize",
                               json={"event_id": f.eid(), "reason": "查处", "occurred_at": at})
    assert seized.status_code == 422 and seized.json()["detail"][0]["loc"] == ["body", "occurred_at"], seized.text
    collected = await client.post("/api/v1/collections", json={**collection(code, "U1", "D1"), "occurred_at": at})
    assert collected.status_code == 422 and collected.json()["detail"][0]["loc"] == ["body", "occurred_at"]
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{code}/history")))["events"] == history["events"]
    epcis = await client.get("/api/v1/epcis/events", params={"GE_eventTime": "2000-01-01T00:00:00Z"})
    assert epcis.status_code == 200


async def test_a_registration_is_not_before_manufacture(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    early = await client.post("/api/v1/cylinders", json={
        "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2024-05-01",
        "owner": {"company_id": "C1"}, "occurred_at": "2024-04-30T09:00:00+08:00"})
    assert early.status_code == 422 and early.json()["detail"][0]["loc"] == ["body", "occurred_at"]


@pytest.mark.parametrize("param", ["GE_eventTime", "LT_eventTime"])
async def test_query_bounds_off_the_calendar_are_invalid_input(client: httpx.AsyncClient, param: str) -> None:
    for value in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
        response = await client.get("/api/v1/epcis/events", params={param: value})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", param]
