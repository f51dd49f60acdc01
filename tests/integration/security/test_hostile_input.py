"""Hole 5: NUL characters, NaN and ±Infinity, deep nesting: a 422 naming the place, never a 500."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.support import factories as f

from .towns import NOW, two_companies


def loc(response: httpx.Response) -> list[object]:
    assert response.status_code == 422, response.text
    return list(response.json()["detail"][0]["loc"])


async def test_nul_characters_in_bodies_are_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    code = (await f.cylinder(client))["code"]
    cases: list[tuple[str, str, dict[str, object], list[object]]] = [
        ("POST", "/api/v1/customers", {"id": "U9", "company_id": "C1", "kind": "residential", "name": "张\x00三",
                                       "id_number": "220102199001019999", "phone": "13900000000", "address": "x"},
         ["body", "name"]),
        ("POST", "/api/v1/companies", {"id": "C9", "name": "x", "licence_no": "L\x00", "licence_valid_until":
                                       "2030-01-01"}, ["body", "licence_no"]),
        ("POST", f"/api/v1/cylinders/{code}/seize", {"event_id": f.eid(), "reason": "\x00", "occurred_at": NOW},
         ["body", "reason"]),
        ("POST", "/api/v1/fill-checks", {"code": "0690123\x00", "station_id": "S1"}, ["body", "code"]),
        ("POST", "/api/v1/cylinders", {"event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M\x00",
                                       "manufactured_on": "2023-05-01", "owner": {"company_id": "C1"}},
         ["body", "manufacturer_code"]),
        ("POST", "/api/v1/reports", {"kind": "other", "description": "黑气点\x00"}, ["body", "description"]),
        ("PATCH", "/api/v1/stations/S1", {"name": "\x00"}, ["body", "name"]),
    ]
    for method, path, body, where in cases:
        assert loc(await client.request(method, path, json=body)) == where, (method, path)


@pytest.mark.parametrize("path", [
    "/api/v1/customers/%00", "/api/v1/cylinders/%00/history", "/api/v1/findings/%00", "/8003/%00",
    "/api/v1/epcis/epcs/%00/events",
])
async def test_nul_characters_in_paths_are_refused(client: httpx.AsyncClient, path: str) -> None:
    assert loc(await client.get(path))[0] == "path"


@pytest.mark.parametrize(("path", "param"), [
    ("/api/v1/findings", "rule"), ("/api/v1/findings", "subject"), ("/api/v1/cylinders", "owner_company_id"),
    ("/api/v1/dead-letters", "kind"), ("/api/v1/epcis/events", "EQ_bizStep"),
])
async def test_nul_characters_in_queries_are_refused(client: httpx.AsyncClient, path: str, param: str) -> None:
    assert loc(await client.get(path, params={param: "a\x00b"})) == ["query", param]


async def test_a_cursor_that_decodes_to_a_nul_is_not_ours(client: httpx.AsyncClient) -> None:
    cursor = base64.urlsafe_b64encode(b"\x00").decode()
    assert loc(await client.get("/api/v1/findings", params={"cursor": cursor})) == ["query", "cursor"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_get_a_422_that_can_be_written(client: httpx.AsyncClient, number: str) -> None:
    await two_companies(client)
    code = (await f.cylinder(client))["code"]
    body = (f'{{"event_id": "{f.eid()}", "code": "{code}", "station_id": "S1", "filler_id": "F1", '
            f'"occurred_at": "{NOW}", "net_mass_kg": {number}, '
            '"checks": {"pre_fill_ok": true, "post_fill_ok": true, "leak_ok": true}}')
    response = await client.post("/api/v1/fills", content=body, headers={"Content-Type": "application/json"})
    assert loc(response) == ["body", "net_mass_kg"]
    assert response.json()["detail"][0]["input"] in ("nan", "inf", "-inf")
    quote = f'{{"code": "{code}", "on": "2026-11-28", "residual_kg": 1, "recycle_price_cny": {number}}}'
    response = await client.post("/api/v1/swaps/quote", content=quote, headers={"Content-Type": "application/json"})
    assert loc(response) == ["body", "recycle_price_cny"]


async def test_deep_nesting_is_refused(client: httpx.AsyncClient) -> None:
    deep = "[" * 5000 + "]" * 5000
    report = await client.post("/api/v1/reports", content=deep, headers={"Content-Type": "application/json"})
    assert report.status_code == 422
    nested_field = '{"kind": "other", "description": ' + "[" * 800 + "]" * 800 + "}"
    report = await client.post("/api/v1/reports", content=nested_field, headers={"Content-Type": "application/json"})
    assert loc(report) == ["body", "description"]
    sheet = await client.post("/api/v1/labels/sheet", content='{"codes": ' + "[" * 800 + "]" * 800 + "}",
                              headers={"Content-Type": "application/json"})
    assert sheet.status_code == 422
