"""Sweeps through HTTP and as the scheduler calls them: what they open, and that a second run opens nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.app.sweeps import run_sweeps
from cylinder_trace.store import tables
from tests.conftest import Clock
from tests.support import factories as f

from .helpers import findings, new_cylinder, restaurant


async def test_sweeps_open_once(client: httpx.AsyncClient, services: Services, clock: Clock) -> None:
    await f.town(client)
    await restaurant(client)
    due_soon = (await f.cylinder(client, manufactured_on="2022-12-20"))["code"]  # due 2026-12-20
    later = (await f.cylinder(client, manufactured_on="2022-12-29"))["code"]  # due 2026-12-29: 31 days away
    at_customer = (await f.cylinder(client, manufactured_on="2022-11-29"))["code"]  # due 2026-11-29
    assert (await f.fill(client, at_customer)).status_code == 201
    assert (await f.deliver(client, at_customer)).status_code == 201
    valved = await new_cylinder(client, "V9")
    regulator = await f.token(client, "regulator")
    company = await f.token(client, "company_admin", company_id="C1")
    assert (await client.post("/api/v1/sweeps", headers=company)).status_code == 403

    first = await f.ok(await client.post("/api/v1/sweeps", headers=regulator))
    assert first["by_rule"] == {"INSPECTION_DUE_SOON": 2, "SAFETY_CHECK_OVERDUE": 1}
    assert set(first["subjects"]) == {f"cylinder:{due_soon}", f"cylinder:{at_customer}", "customer:R1"}
    assert f"cylinder:{later}" not in first["subjects"]
    second = await f.ok(await client.post("/api/v1/sweeps", headers=regulator))
    assert (second["opened"], second["already_open"], second["event_id"]) == (0, 3, None)

    # two days later the household's cylinder is overdue (a recall, beside its due-soon warning), and the
    # cylinder due 2026-12-29 has come within 30 days
    clock.advance(days=2)
    third = await run_sweeps(services.uow, clock.now)
    assert third.by_rule == {"OVERDUE_AT_CUSTOMER": 1, "INSPECTION_DUE_SOON": 1}
    assert third.day.isoformat() == "2026-11-30" and f"cylinder:{later}" in third.findings_subjects
    (recall,) = await findings(client, rule="OVERDUE_AT_CUSTOMER")
    assert (recall["subject"], recall["severity"], recall["company_id"]) == (f"cylinder:{at_customer}", "high", "C1")

    # a valve heard 73 hours ago is offline
    async with services.engine.begin() as conn:
        await conn.execute(sa.insert(tables.valve_status).values(
            valve_id="V9", last_seen=clock.now - timedelta(hours=73), battery_seq=0, last_seq=0))
    fourth = await run_sweeps(services.uow, clock.now)
    assert fourth.by_rule == {"VALVE_OFFLINE": 1} and fourth.findings_subjects == [f"cylinder:{valved}"]


async def test_a_run_with_many_findings_records_them_in_bounded_transactions(
    client: httpx.AsyncClient, services: Services, clock: Clock,
) -> None:
    await f.town(client)
    due = {(await f.cylinder(client, manufactured_on="2022-12-20"))["code"] for _ in range(5)}  # all due soon
    batches = services.uow.appender.batches
    report = await run_sweeps(services.uow, clock.now, violations_per_event=2, events_per_transaction=2)
    assert report.opened == 5 and set(report.findings_subjects) == {f"cylinder:{c}" for c in due}
    assert services.uow.appender.batches - batches == 2  # three events of two violations: two transactions
    async with services.engine.connect() as conn:
        recorded = (await conn.execute(sa.select(tables.events.c.event_id).where(
            tables.events.c.stream_id == "sweeps").order_by(tables.events.c.position))).scalars().all()
    assert len(recorded) == 3 and recorded[0] == report.event_id
    assert len(await findings(client, rule="INSPECTION_DUE_SOON")) == 5
    again = await run_sweeps(services.uow, clock.now, violations_per_event=2, events_per_transaction=2)
    assert (again.opened, again.already_open, again.event_id) == (0, 5, None)


async def test_a_run_stopped_half_way_is_finished_by_the_next(
    client: httpx.AsyncClient, services: Services, clock: Clock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await f.town(client)
    for _ in range(5):
        await f.cylinder(client, manufactured_on="2022-12-20")  # all due soon
    write = services.uow.write
    calls = 0

    async def second_fails(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("the database went away")
        return await write(*args, **kwargs)

    monkeypatch.setattr(services.uow, "write", second_fails)
    with pytest.raises(ConnectionError):
        await run_sweeps(services.uow, clock.now, violations_per_event=2, events_per_transaction=2)
    monkeypatch.undo()
    assert len(await findings(client, rule="INSPECTION_DUE_SOON")) == 4  # the first transaction's two events
    rest = await run_sweeps(services.uow, clock.now, violations_per_event=2, events_per_transaction=2)
    assert (rest.opened, rest.already_open) == (1, 4)
    assert len(await findings(client, rule="INSPECTION_DUE_SOON")) == 5
