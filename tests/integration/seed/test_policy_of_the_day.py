"""Registration and inspection judge by the policy in force on the action's local day, not today's
(DOMAIN.md, Sweeps: "every rule uses the policy in force on the action's day"). Two policy tables: the
town's (inspection every 4 years) and, from 2026-01-01, one with a 5-year interval; today is 2026-11-28."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import factories as f
from tests.support import policies


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    return policies.write(tmp_path, policies.edited(),
                          policies.later_table("2026-01-01", inspection_interval_years=5))


async def register(c: httpx.AsyncClient, at: str) -> dict[str, object]:
    return await f.cylinder(c, manufactured_on="2022-03-01", occurred_at=at)


async def inspect(c: httpx.AsyncClient, code: str, at: str) -> dict[str, object]:
    return await f.ok(await c.post("/api/v1/inspections", json={
        "event_id": f.eid(), "code": code, "agency_id": "A1", "occurred_at": at, "result": "pass"}), 201)


async def test_registration_and_inspection_take_the_table_of_their_day(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    old_table = await register(pg_client, "2025-12-31T23:30:00+08:00")  # still 2025 in Asia/Shanghai
    new_table = await register(pg_client, "2025-12-31T16:30:00+00:00")  # 2026-01-01 00:30 local
    assert old_table["next_inspection_due"] == "2026-03-01"  # 4 years from manufacture
    assert new_table["next_inspection_due"] == "2027-03-01"  # 5 years
    inspected_old = await inspect(pg_client, str(old_table["code"]), "2025-12-20T10:00:00+08:00")
    inspected_new = await inspect(pg_client, str(new_table["code"]), "2026-01-02T10:00:00+08:00")
    assert inspected_old["next_inspection_due"] == "2029-12-20"
    assert inspected_new["next_inspection_due"] == "2031-01-02"


async def test_a_day_no_table_covers_is_refused_naming_the_field(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    response = await pg_client.post("/api/v1/cylinders", json={
        "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2020-01-01",
        "owner": {"company_id": "C1"}, "occurred_at": "2022-12-31T10:00:00+08:00"})
    assert response.status_code == 422 and "occurred_at" in response.text
