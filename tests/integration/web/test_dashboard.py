"""The dashboard's numbers: judged by the domain's rules on the day it is read, scoped to the company."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from cylinder_trace.app.dashboard import Window, dashboard
from cylinder_trace.app.principals import Principal
from cylinder_trace.app.services import Services
from cylinder_trace.domain.dates import local_day
from cylinder_trace.store import tables
from tests.conftest import Clock
from tests.integration.rules.helpers import SECRET
from tests.support import factories as f
from tests.support.desk import desk, token_of

REGULATOR = Principal("r", "regulator", "监管")
C1_ADMIN = Principal("a", "company_admin", "一号公司", company_id="C1")


async def _at_customer(c: httpx.AsyncClient, **cylinder: Any) -> str:
    code = str((await f.cylinder(c, **cylinder))["code"])
    await f.ok(await f.fill(c, code, at="2026-11-28T08:00:00+08:00"), 201)
    await f.ok(await f.deliver(c, code, at="2026-11-28T08:30:00+08:00"), 201)
    return code


async def _numbers(services: Services, caller: Principal, clock: Clock) -> dict[str, Any]:
    now = clock.now
    window = Window(now, "Asia/Shanghai", services.policy_book.at(services.settings.jurisdiction,
                                                                 local_day(now, "Asia/Shanghai")))
    return await services.uow.read(lambda conn: dashboard(conn, caller, window))


async def test_the_numbers_a_regulator_watches(client: httpx.AsyncClient, services: Services, clock: Clock) -> None:
    await f.town(client)
    await f.company(client, "C2")
    await f.station(client, "S2", "C2")
    await f.staff(client, "F2", "filler", "C2")
    overdue = await _at_customer(client, manufactured_on="2022-11-29")  # due 2026-11-29
    await _at_customer(client, manufactured_on="2018-12-01", last_inspected_on="2023-06-01")  # life ends 2026-12-01
    await _at_customer(client)  # sound
    await f.cylinder(client, manufactured_on="2022-11-30")  # in stock, due 2026-11-30
    await f.cylinder(client, manufactured_on="2018-11-30", last_inspected_on="2023-06-01")  # in stock, life 11-30
    await f.cylinder(client, "C2", manufactured_on="2022-11-30")  # another company's, in stock
    assert (await f.fill(client, overdue, at="2026-11-28T09:00:00+08:00")).status_code == 422
    other = str((await f.cylinder(client, "C2"))["code"])
    await f.ok(await f.fill(client, other, at="2026-11-28T09:00:00+08:00", station_id="S2", filler_id="F2"), 201)
    assert (await f.fill(client, other, at="2026-11-28T09:10:00+08:00", station_id="S2",
                         filler_id="F2")).status_code == 422
    for valve in ("V1", "V2"):
        await f.ok(await client.post("/api/v1/valves", json={"valve_id": valve, "company_id": "C1", "secret": SECRET}))
    async with services.engine.begin() as conn:
        await conn.execute(sa.insert(tables.valve_status).values(
            valve_id="V2", last_seen=clock.now - timedelta(hours=1), battery_seq=0, last_seq=0))

    today = await _numbers(services, C1_ADMIN, clock)
    assert today["company_id"] == "C1"
    assert today["cylinders"] == {"at_customer": {"overdue": 0, "past_life": 0},
                                  "in_stock": {"overdue": 0, "past_life": 0}}
    assert today["refusals"]["total"] == 1 and today["refusals"]["by_rule"] == [("LIFECYCLE_INVALID_TRANSITION", 1)]
    assert today["findings_by_company"] == [("C1", 1)]
    assert today["valves"] == {"total": 2, "offline": 1, "online": 1}
    assert today["fills_per_day"][-1] == (date(2026, 11, 28), 3) and len(today["fills_per_day"]) == 14
    everyone = await _numbers(services, REGULATOR, clock)
    assert everyone["refusals"]["total"] == 2 and everyone["fills_per_day"][-1] == (date(2026, 11, 28), 4)
    assert everyone["findings_by_rule"] == [("LIFECYCLE_INVALID_TRANSITION", 2)]
    assert sorted(everyone["findings_by_company"]) == [("C1", 1), ("C2", 1)]

    clock.advance(days=7)  # 2026-12-05: the dates above have passed; the refusals are eight days old
    week = await _numbers(services, C1_ADMIN, clock)
    assert week["cylinders"] == {"at_customer": {"overdue": 1, "past_life": 1},
                                 "in_stock": {"overdue": 1, "past_life": 1}}
    assert week["refusals"]["total"] == 0
    assert week["fills_per_day"][0] == (date(2026, 11, 22), 0) and (date(2026, 11, 28), 3) in week["fills_per_day"]
    assert week["valves"]["offline"] == 2  # the one heard from last week is quiet for too long now
    regulator_week = await _numbers(services, REGULATOR, clock)
    assert regulator_week["cylinders"]["in_stock"]["overdue"] == 2

    async with desk(services, await token_of(client, "company_admin", company_id="C1")) as d:
        page = (await d.get("/desk")).text
        for tile, value in (("tile-customer-overdue", 1), ("tile-stock-life", 1), ("tile-valves", 2)):
            assert f'id="{tile}"' in page and f"<strong>{value}" in page.split(f'id="{tile}"')[1][:300], tile
        assert page.count("<svg") >= 2 and "LIFECYCLE_INVALID_TRANSITION" in page
        assert (await d.get("/desk", company_id="C2")).status_code == 403
