"""Bad input gets a 422 that names the field, and nothing is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.domain.codes import make_grai
from cylinder_trace.store.tables import events
from tests.support import factories as f


async def count_events(services: Services) -> int:
    async with services.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar_one())


def fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [".".join(str(p) for p in d["loc"]) for d in response.json()["detail"]]


CYL = {"model": "YSP35.5", "manufacturer_code": "M", "manufactured_on": "2024-01-01", "owner": {"company_id": "C1"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CYL, "manufactured_on": "2024-13-01"}, "body.manufactured_on"),
        ({**CYL, "manufactured_on": "2099-01-01"}, "body.manufactured_on"),
        ({**CYL, "model": "YSP999"}, "body.model"),
        ({**CYL, "code": "06901234000017CYL0001"}, "body.code"),
        ({**CYL, "owner": {"company_id": "NOPE"}}, "body.owner.company_id"),
        ({**CYL, "owner": {}}, "body.owner"),
        ({**CYL, "tare_kg": "heavy"}, "body.tare_kg"),
        ({**CYL, "colour": "red"}, "body.colour"),
        ({**CYL, "serial": "has space"}, "body.serial"),
    ],
)
async def test_cylinder_registration_names_the_bad_field(
    client: httpx.AsyncClient, services: Services, body: dict[str, Any], field: str
) -> None:
    await f.company(client)
    before = await count_events(services)
    response = await client.post("/api/v1/cylinders", json={"event_id": f.eid(), **body})
    assert field in fields(response)
    assert await count_events(services) == before


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/fills", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422


async def test_timestamps_need_an_offset(client: httpx.AsyncClient) -> None:
    await f.town(client)
    cyl = await f.cylinder(client)
    response = await f.fill(client, cyl["code"], at="2026-11-28T09:00:00")
    assert "body.occurred_at" in fields(response)


async def test_unknown_references_name_the_field(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    cyl = await f.cylinder(client)
    before = await count_events(services)
    assert "body.worker_id" in fields(await f.deliver(client, cyl["code"], worker_id="GHOST"))
    assert "body.station_id" in fields(await f.fill(client, cyl["code"], station_id="GHOST"))
    assert await count_events(services) == before


async def test_unknown_code_is_404_except_for_fills(client: httpx.AsyncClient) -> None:
    await f.town(client)
    assert (await client.get("/api/v1/cylinders/06901234000016CYL0001")).status_code == 404
    assert (await f.deliver(client, "06901234000016CYL0001")).status_code == 404
    refused = await f.fill(client, "06901234000016CYL0001")
    assert refused.status_code == 422
    assert [v["rule"] for v in refused.json()["violations"]] == ["FILL_UNKNOWN_CODE"]


async def test_a_twelve_digit_prefix_needs_a_given_code(client: httpx.AsyncClient, services: Services) -> None:
    await f.company(client, "C12", gs1_company_prefix="690123456789")
    before = await count_events(services)
    body = {**CYL, "owner": {"company_id": "C12"}, "event_id": f.eid()}
    assert "body.code" in fields(await client.post("/api/v1/cylinders", json=body))
    assert await count_events(services) == before
    given = make_grai("690123456789", 0, "A1").code
    created = await client.post("/api/v1/cylinders", json={**body, "event_id": f.eid(), "code": given})
    assert created.status_code == 201 and created.json()["epc"] == "urn:epc:id:grai:690123456789..A1"
