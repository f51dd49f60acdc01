"""The existing fleet's smart-valve deadline (seed 三(二)4: 新进自有钢瓶、到期检验钢瓶必须配备智能角阀).

A registration takes ``in_service_since`` (default: the registration day); a census registers the
existing fleet, so its rows default to the day of manufacture. A cylinder new to the company before
2023-09-30 needs its valve from its first passing inspection on or after that day, not at once.
Today is 2026-11-28.
"""

from __future__ import annotations

import csv
from pathlib import Path

import httpx

from cylinder_trace.app.census import import_census
from cylinder_trace.app.services import Services
from tests.support import factories as f

from .helpers import refused_field

TODAY = "2026-11-28T10:00:00+08:00"


async def register(c: httpx.AsyncClient, **extra: object) -> httpx.Response:
    body = {"event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2023-01-01",
            "owner": {"company_id": "C1"}, "occurred_at": TODAY, **extra}
    return await c.post("/api/v1/cylinders", json=body)


async def valve_rules(c: httpx.AsyncClient, code: str) -> list[str]:
    check = await f.ok(await c.post("/api/v1/fill-checks", json={"code": code, "station_id": "S1"}))
    return [v["rule"] for v in check["violations"]]


async def pass_inspection(c: httpx.AsyncClient, code: str) -> None:
    await f.ok(await c.post("/api/v1/inspections", json={
        "event_id": f.eid(), "code": code, "agency_id": "A1", "occurred_at": TODAY, "result": "pass"}), 201)


async def test_in_service_since_decides_whether_a_cylinder_is_new(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    new = await f.ok(await register(pg_client), 201)
    old = await f.ok(await register(pg_client, in_service_since="2023-03-01"), 201)
    assert new["in_service_since"] == "2026-11-28" and old["in_service_since"] == "2023-03-01"
    assert await valve_rules(pg_client, new["code"]) == ["FILL_NO_SMART_VALVE"]
    check = await f.ok(await pg_client.post("/api/v1/fill-checks", json={"code": new["code"], "station_id": "S1"}))
    assert "2026-11-28" in check["violations"][0]["message_en"]
    assert await valve_rules(pg_client, old["code"]) == []  # the existing fleet: not at once
    await pass_inspection(pg_client, old["code"])  # its first periodic inspection from 2023-09-30 on
    assert await valve_rules(pg_client, old["code"]) == ["FILL_NO_SMART_VALVE"]


async def test_in_service_since_before_manufacture_or_in_the_future_is_refused(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    for day in ("2022-12-31", "2026-11-29"):
        assert refused_field(await register(pg_client, in_service_since=day)) == "in_service_since"
    backdated = await register(pg_client, occurred_at="2024-01-01T10:00:00+08:00", in_service_since="2024-06-01")
    assert refused_field(backdated) == "in_service_since"  # after its registration day
    listed = await f.ok(await pg_client.get("/api/v1/cylinders", params={"owner_company_id": "C1"}))
    assert listed["items"] == []  # nothing was stored


def write_census(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = ["serial", "model", "manufacturer_code", "manufactured_on", "last_inspected_on", "in_service_since"]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({"model": "YSP35.5", "manufacturer_code": "M01", **row})
    return path


async def test_a_census_on_the_import_day_leaves_the_existing_fleet_fillable(
        pg_client: httpx.AsyncClient, pg_services: Services, tmp_path: Path) -> None:
    await f.town(pg_client)
    path = write_census(tmp_path / "census.csv", [
        {"serial": "OLD1", "manufactured_on": "2023-01-01"},
        {"serial": "OLD2", "manufactured_on": "2020-06-01", "last_inspected_on": "2023-06-01"},
        {"serial": "INSPECTED", "manufactured_on": "2020-06-01", "last_inspected_on": "2024-03-01"},
        {"serial": "NEWMADE", "manufactured_on": "2024-02-01"},
        {"serial": "SAYSNEW", "manufactured_on": "2023-01-01", "in_service_since": "2024-01-01"},
        {"serial": "BAD", "manufactured_on": "2023-01-01", "in_service_since": "2022-01-01"},
    ])
    report = await import_census(pg_services.uow, path, "C1", pg_services.codes)
    assert [(e.row, e.field) for e in report.errors] == [(7, "in_service_since")]
    code = {row: report.codes[row] for row in range(2, 7)}
    state = await f.ok(await pg_client.get(f"/api/v1/cylinders/{code[2]}"))
    assert (state["registered_on"], state["in_service_since"]) == ("2026-11-28", "2023-01-01")
    assert await valve_rules(pg_client, code[2]) == []
    assert await valve_rules(pg_client, code[3]) == []
    assert await valve_rules(pg_client, code[4]) == ["FILL_NO_SMART_VALVE"]  # 到期检验 after the day
    assert await valve_rules(pg_client, code[5]) == ["FILL_NO_SMART_VALVE"]  # made after the day: new
    assert await valve_rules(pg_client, code[6]) == ["FILL_NO_SMART_VALVE"]  # the row says it is new
