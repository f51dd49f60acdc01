"""The event-time rule at the valve door (PostgreSQL): a valve's report is placed in the cylinder's history
at the valve's time when that time keeps the rule, else at the time the service received it — the valve's
own time kept in ``ts`` and the reason in ``ts_refused``. Nothing a valve reports is dropped for its clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cylinder_trace.app.services import Services
from cylinder_trace.domain.canonical import format_ts
from tests.support import factories as f

from .helpers import T0, event, ingest, smart_cylinder

RECEIVED = T0 + timedelta(seconds=2)


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


async def test_a_valve_clock_that_breaks_the_rule_gives_way_to_the_receive_time(
    client: httpx.AsyncClient, services: Services,
) -> None:
    await f.company(client)
    code = await smart_cylinder(client, "V1")  # made 2023-05-01; the service's clock reads T0
    reset = datetime(2000, 1, 1, tzinfo=UTC)  # a clock reset by a battery swap
    outcome = await ingest(services, [
        event("V1", 1, "opened", ts=T0 - timedelta(minutes=5), at=RECEIVED),
        event("V1", 2, "closed", ts=reset, at=RECEIVED),
        event("V1", 3, "opened", ts=T0 + timedelta(hours=3), at=RECEIVED),
        event("V1", 4, "closed", ts=T0 + timedelta(minutes=30), at=RECEIVED),  # ahead, within the tolerance
        event("V1", 5, "tamper", {"kind": "case_opened"}, ts=datetime(2099, 1, 1, tzinfo=UTC), at=RECEIVED),
    ])
    assert (outcome.stored, outcome.appended, outcome.dead_letters) == (5, 5, [])
    history = (await f.ok(await client.get(f"/api/v1/cylinders/{code}/history")))["events"]
    reported = {e["data"]["seq"]: e for e in history if e["type"] == "ValveReported"}
    assert {seq: e["occurred_at"] for seq, e in reported.items()} == {
        1: format_ts(T0 - timedelta(minutes=5)), 2: format_ts(RECEIVED), 3: format_ts(RECEIVED),
        4: format_ts(T0 + timedelta(minutes=30)), 5: format_ts(RECEIVED)}
    assert reported[2]["data"]["ts"].startswith("2000-01-01T00:00:00")  # the valve's own time, as it sent it
    assert "before the cylinder was made" in reported[2]["data"]["ts_refused"]
    assert "in the future" in reported[3]["data"]["ts_refused"]
    assert "ts_refused" not in reported[1]["data"] and "ts_refused" not in reported[4]["data"]
    assert [v["rule"] for v in reported[5]["data"]["violations"]] == ["VALVE_TAMPER"]  # still judged
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{code}/verify")))["valid"]
