"""What the desk added to the readers the API shares: findings by subject kind, the valve list, the
dead letters' authorization in one place, and actors' names."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cylinder_trace.app.devices import valve_page
from cylinder_trace.app.errors import Forbidden
from cylinder_trace.app.principals import Principal, principal_names
from cylinder_trace.app.services import Services
from tests.conftest import Clock
from tests.support import factories as f

from .town import two_companies


async def test_findings_filter_by_subject_kind(client: httpx.AsyncClient) -> None:
    await f.town(client)
    await f.ok(await client.post("/api/v1/reports", json={"kind": "other", "description": "路边有人卖气"}), 201)
    code = str((await f.cylinder(client, manufactured_on="2021-06-01"))["code"])  # overdue
    assert (await f.fill(client, code)).status_code == 422
    cylinders = await f.ok(await client.get("/api/v1/findings", params={"subject_kind": "cylinder"}))
    reports = await f.ok(await client.get("/api/v1/findings", params={"subject_kind": "report"}))
    assert {x["subject"].split(":")[0] for x in cylinders["items"]} == {"cylinder"} and cylinders["items"]
    assert [x["rule"] for x in reports["items"]] == ["PUBLIC_REPORT"]
    bad = await client.get("/api/v1/findings", params={"subject_kind": "planet"})
    assert bad.status_code == 422 and "subject_kind" in bad.text


async def test_valves_are_listed_per_company_and_dead_letters_only_for_operators(
    client: httpx.AsyncClient, services: Services, clock: Clock
) -> None:
    town = await two_companies(client)
    mine = Principal("a", "company_admin", "甲", company_id="C1")

    async def listed(caller: Principal, company: str | None = None) -> list[str]:
        page = await services.uow.read(lambda conn: valve_page(
            conn, caller, now=clock.now, offline_after=timedelta(hours=72), company_id=company))
        return [v["valve_id"] for v in page.items]

    assert await listed(mine) == [town.c1.valve]
    assert await listed(Principal("r", "regulator", "监管")) == [town.c1.valve, town.c2.valve]
    with pytest.raises(Forbidden):
        await listed(mine, "C2")
    staff = await f.token(client, "company_admin", company_id="C1")
    assert (await client.get("/api/v1/dead-letters", headers=staff)).status_code == 403
    assert (await client.get("/api/v1/dead-letters")).status_code == 200


async def test_actors_are_named(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    created = await f.ok(await client.post("/api/v1/principals", json={"role": "regulator", "name": "李监管"}), 201)
    names = await services.uow.read(lambda conn: principal_names(conn, [created["id"], "admin", "nobody"]))
    assert names == {created["id"]: "李监管", "admin": "administrator"}
