"""Fill authorizations and the fill window check (VALVE_ILLEGAL_REFILL, VALVE_FILL_UNCONFIRMED,
VALVE_FILL_UNRECORDED), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from cylinder_trace.app.fill_authorizations import IssuedAuthorization, issue_fill_authorization
from cylinder_trace.app.fill_windows import WindowReport, check_fill_windows
from cylinder_trace.app.services import Services
from cylinder_trace.app.unit_of_work import Tx
from cylinder_trace.mqtt.protocol import parse_ts
from cylinder_trace.store.tables import valve_authorizations
from tests.conftest import Clock
from tests.support import factories as f

from .helpers import authorize, event, ingest, smart_cylinder


async def windows(services: Services) -> WindowReport:
    async def handler(tx: Tx) -> WindowReport:
        return await check_fill_windows(tx)

    return await services.uow.write(handler)


async def valve_events(client: httpx.AsyncClient, code: str) -> list[dict[str, Any]]:
    body = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history"))
    return [e for e in body["events"] if e["type"] in ("ValveReported", "ValveFillUnmatched")]


async def test_an_issued_authorization_is_stored_recorded_and_used_once(
    client: httpx.AsyncClient, services: Services, clock: Clock,
) -> None:
    await f.town(client)
    code = await smart_cylinder(client, "V1")
    issued = await authorize(services, code)
    assert issued.valve_id == "V1" and issued.max_mass_kg == 14.9
    assert parse_ts(issued.expires) == (clock.now + timedelta(minutes=15)).replace(microsecond=0)
    assert set(issued.to_json()) >= {"auth_id", "expires"}
    ts = clock.now + timedelta(minutes=2)
    await ingest(services, [event("V1", 1, "fill_started", {"auth_id": issued.auth_id}, ts=ts),
                            event("V1", 2, "fill_completed", {"auth_id": issued.auth_id, "mass_kg": 14.5},
                                  ts=ts + timedelta(minutes=3))])
    await ingest(services, [event("V1", 3, "fill_completed", {"auth_id": issued.auth_id, "mass_kg": 14.5},
                                  ts=ts + timedelta(minutes=9))])
    found = await valve_events(client, code)
    assert [e["type"] for e in found] == ["ValveReported", "ValveReported", "ValveReported"]
    assert [e["data"].get("authorization") for e in found] == [None, "authorized", "reused"]
    assert [[v["rule"] for v in e["data"]["violations"]] for e in found] == [[], [], ["VALVE_ILLEGAL_REFILL"]]
    async with services.engine.connect() as conn:
        row = (await conn.execute(sa.select(valve_authorizations))).one()
    assert (row.auth_id, row.valve_id, row.cylinder_code, row.station_id) == (issued.auth_id, "V1", code, "S1")
    assert (row.issued_at, row.issued_by, row.published_at) == (clock.now, "admin:admin", None)
    assert (row.started_at, row.used_seq, row.used_at) == (ts, 2, ts + timedelta(minutes=3))


async def test_an_authorization_begun_after_it_expired_is_illegal(
    client: httpx.AsyncClient, services: Services, clock: Clock,
) -> None:
    await f.town(client)
    code = await smart_cylinder(client, "V1")
    issued = await authorize(services, code)
    late = parse_ts(issued.expires) + timedelta(seconds=1)
    await ingest(services, [event("V1", 1, "fill_completed", {"auth_id": issued.auth_id, "mass_kg": 14.5}, ts=late)])
    [*_, reported] = await valve_events(client, code)
    assert reported["data"]["authorization"] == "expired"
    assert [v["rule"] for v in reported["data"]["violations"]] == ["VALVE_ILLEGAL_REFILL"]


async def test_another_valves_authorization_is_never_issued_to_this_one(
    client: httpx.AsyncClient, services: Services,
) -> None:
    await f.town(client)
    first = await smart_cylinder(client, "V1")
    other = await smart_cylinder(client, "V2")
    issued = await authorize(services, first)
    await ingest(services, [event("V2", 1, "fill_completed", {"auth_id": issued.auth_id, "mass_kg": 14.5})])
    [reported] = [e for e in await valve_events(client, other) if e["type"] == "ValveReported"]
    assert reported["data"]["authorization"] == "never_issued"


async def test_no_valve_no_authorization(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]

    async def handler(tx: Tx) -> IssuedAuthorization | None:
        state = await tx.load_cylinder(code)
        assert state is not None
        return await issue_fill_authorization(tx, state, "S1", actor="admin:x")

    assert await services.uow.write(handler) is None


async def test_a_station_fill_the_valve_never_confirms_is_unconfirmed(
    client: httpx.AsyncClient, services: Services, clock: Clock,
) -> None:
    await f.town(client)
    code = await smart_cylinder(client, "V1")
    confirmed = await smart_cylinder(client, "V2")
    clock.advance(minutes=1)
    await f.ok(await f.fill(client, code, at="2026-11-28T10:00:00+08:00"), 201)
    await f.ok(await f.fill(client, confirmed, at="2026-11-28T10:00:00+08:00"), 201)
    fill_at = clock.now
    await ingest(services, [event("V2", 1, "fill_completed", {"auth_id": "x", "mass_kg": 14.0},
                                  ts=fill_at + timedelta(minutes=10))])
    early = await windows(services)
    assert early.violations == []  # the window is still open
    clock.advance(minutes=31)
    report = await windows(services)
    assert [(v.rule, v.subject) for v in report.unconfirmed] == [("VALVE_FILL_UNCONFIRMED", f"cylinder:{code}")]
    assert report.unrecorded == []
    [unmatched] = [e for e in await valve_events(client, code) if e["type"] == "ValveFillUnmatched"]
    assert [v["rule"] for v in unmatched["data"]["violations"]] == ["VALVE_FILL_UNCONFIRMED"]
    assert (await windows(services)).violations == []  # judged once
    assert not [e for e in await valve_events(client, confirmed) if e["type"] == "ValveFillUnmatched"]


async def test_an_authorized_valve_fill_no_station_records_is_unrecorded(
    client: httpx.AsyncClient, services: Services, clock: Clock,
) -> None:
    await f.town(client)
    code = await smart_cylinder(client, "V1")
    recorded = await smart_cylinder(client, "V2")
    first, second = await authorize(services, code), await authorize(services, recorded)
    await ingest(services, [
        event("V1", 1, "fill_completed", {"auth_id": first.auth_id, "mass_kg": 14.5}, ts=clock.now),
        event("V2", 1, "fill_completed", {"auth_id": second.auth_id, "mass_kg": 14.5}, ts=clock.now),
    ])
    await f.ok(await f.fill(client, recorded, at=(clock.now + timedelta(minutes=5)).isoformat()), 201)
    assert (await windows(services)).violations == []
    clock.advance(minutes=31)
    report = await windows(services)
    assert [(v.rule, v.subject, v.severity) for v in report.unrecorded] == [
        ("VALVE_FILL_UNRECORDED", f"cylinder:{code}", "high")]
    assert (await windows(services)).violations == []
