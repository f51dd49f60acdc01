"""A finding's due date is a rectification deadline (整改期限): the day it opened plus the policy's
``rectification_days`` for its severity, by the table in force that day; a hazard keeps its own due date.
The findings export's 整改期限 column follows. Two tables: the town's, and from 2026-12-01 one with other
deadlines (block 10, high 5, warn 20) and hazards due in 3 days."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from tests.conftest import Clock
from tests.integration.rules.helpers import findings, restaurant
from tests.support import factories as f
from tests.support import policies


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    later = policies.later_table("2026-12-01", hazard_rectify_days=3,
                                 rectification_days={"block": 10, "high": 5, "warn": 20})
    return policies.write(tmp_path, policies.edited(), later)


def due(items: list[dict[str, object]], rule: str) -> object:
    (finding,) = [x for x in items if x["rule"] == rule]
    return finding["due_on"]


async def test_due_dates_are_deadlines_by_severity_and_the_policy_of_the_day(
        pg_client: httpx.AsyncClient, clock: Clock) -> None:
    await f.town(pg_client)
    await restaurant(pg_client, "R1")
    overdue = str((await f.cylinder(pg_client, manufactured_on="2022-06-01"))["code"])  # due 2026-06-01
    soon = str((await f.cylinder(pg_client, manufactured_on="2022-12-20"))["code"])  # due 2026-12-20
    assert (await f.fill(pg_client, overdue)).status_code == 422  # FILL_OVERDUE_INSPECTION, block
    good = str((await f.cylinder(pg_client))["code"])
    assert (await f.fill(pg_client, good)).status_code == 201
    no_check = {"performed": False, "notice_given": False, "customer_signed": False, "hazards": []}
    await f.ok(await f.deliver(pg_client, good, safety_check=no_check), 201)  # SAFETY_CHECK_MISSING, high
    await f.ok(await pg_client.post("/api/v1/sweeps"))  # INSPECTION_DUE_SOON (warn), SAFETY_CHECK_OVERDUE (high)
    await f.ok(await pg_client.post("/api/v1/safety-checks", json={
        "event_id": f.eid(), "customer_id": "U1", "worker_id": "D1", "occurred_at": "2026-11-28T11:00:00+08:00",
        "notice_given": True, "customer_signed": True, "hazards": [{"kind": "hose_aged"}]}), 201)
    items = await findings(pg_client)
    assert due(items, "FILL_OVERDUE_INSPECTION") == "2026-12-13"  # not the cylinder's 2026-06-01
    assert due(items, "SAFETY_CHECK_MISSING") == due(items, "SAFETY_CHECK_OVERDUE") == "2026-12-05"
    assert due(items, "INSPECTION_DUE_SOON") == "2026-12-28"  # not the cylinder's 2026-12-20
    assert due(items, "HAZARD_FOUND") == "2026-12-05"  # hazard_rectify_days (7), its own

    # from 2026-12-01 the other table: a finding opened on 2026-12-02 gets its deadlines
    clock.advance(days=4)
    await f.staff(pg_client, "F9", "filler", certificate_valid_until="2026-11-30")
    assert (await f.fill(pg_client, soon, at="2026-12-02T09:00:00+08:00", filler_id="F9")).status_code == 422
    await f.ok(await pg_client.post("/api/v1/safety-checks", json={
        "event_id": f.eid(), "customer_id": "R1", "worker_id": "D1", "occurred_at": "2026-12-02T11:00:00+08:00",
        "notice_given": True, "customer_signed": True, "hazards": [{"kind": "no_ventilation"}]}), 201)
    items = await findings(pg_client)
    station = [x for x in items if x["rule"] == "FILL_FILLER_UNCERTIFIED"]
    assert [x["due_on"] for x in station] == ["2026-12-12"]  # block: 10 days
    hazards = sorted(x["due_on"] for x in items if x["rule"] == "HAZARD_FOUND")
    assert hazards == ["2026-12-05", "2026-12-05"]  # R1's hazard: 2026-12-02 + 3 days
    assert due(items, "FILL_OVERDUE_INSPECTION") == "2026-12-13"  # an open finding keeps its deadline

    export = await pg_client.get("/api/v1/findings", params={"format": "csv", "rule": "FILL_OVERDUE_INSPECTION"})
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r["整改期限 (due_on)"] for r in rows] == ["2026-12-13"]
