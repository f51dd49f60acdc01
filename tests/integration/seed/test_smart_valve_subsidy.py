"""The smart-valve subsidy (30 CNY, seed 三(二)4) is paid once per valve and once per cylinder: fitting
V1 and V2 to cylinder A and then moving V1 to cylinder B earns 30, not 90; each fit's answer says
whether it earned and, if not, why."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.rules.helpers import NOW, new_cylinder, valve
from tests.support import factories as f


async def fit(c: httpx.AsyncClient, code: str, valve_id: str) -> dict[str, Any]:
    body = await f.ok(await c.post(f"/api/v1/cylinders/{code}/valve",
                                   json={"event_id": f.eid(), "valve_id": valve_id, "occurred_at": NOW}), 201)
    subsidy: dict[str, Any] = body["subsidy"]
    return subsidy


def reasons(subsidy: dict[str, Any]) -> list[str]:
    return [r["code"] for r in subsidy["reasons"]]


async def test_a_moved_valve_and_a_second_valve_earn_nothing(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    for v in ("V1", "V2", "V3"):
        await valve(pg_client, v)
    a, b = await new_cylinder(pg_client), await new_cylinder(pg_client)
    first = await fit(pg_client, a, "V1")
    assert (first["earned"], first["amount_cny"], first["kind"]) == (True, 30, "smart_valve")
    second = await fit(pg_client, a, "V2")  # a second valve on the same cylinder
    assert (second["earned"], second["amount_cny"], reasons(second)) == (False, 0, ["cylinder_already_subsidized"])
    moved = await fit(pg_client, b, "V1")  # V1, freed from A, moved to B
    assert reasons(moved) == ["valve_already_subsidized"]
    assert moved["earned_by"] == second["earned_by"] and len(moved["earned_by"]) == 1
    assert "once per valve" in moved["reasons"][0]["en"] and moved["reasons"][0]["zh"]
    ledger = await f.ok(await pg_client.get("/api/v1/ledgers/subsidies", params={"company_id": "C1"}))
    assert ledger["total_cny"] == 30 and [r["count"] for r in ledger["rows"]] == [1]
    # a fresh valve on a fresh cylinder earns again; the history records why a fit earned nothing
    assert (await fit(pg_client, await new_cylinder(pg_client), "V3"))["earned"] is True
    history = await f.ok(await pg_client.get(f"/api/v1/cylinders/{b}/history"))
    fitted = history["events"][-1]
    assert fitted["type"] == "SmartValveFitted" and "subsidy" not in fitted["data"]
    assert [r["code"] for r in fitted["data"]["subsidy_withheld"]["reasons"]] == ["valve_already_subsidized"]
    assert (await f.ok(await pg_client.get("/api/v1/ledgers/subsidies")))["total_cny"] == 60
