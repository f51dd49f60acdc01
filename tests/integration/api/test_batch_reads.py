"""What a batch of registrations reads before its commands run (PostgreSQL): codes made from a company's
GS1 prefix are loaded with the batch's one query when an earlier batch saw the company, and are still
found when the company's prefix changed in between (the hint was wrong)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from cylinder_trace.app.services import Services
from cylinder_trace.domain.codes import make_grai
from tests.support import factories as f
from tests.support.statements import statements

OLD_PREFIX, NEW_PREFIX = "6901234", "6909876"


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


def registration(serial: str) -> dict[str, Any]:
    return {"event_id": f.eid(), "serial": serial, "model": "YSP35.5", "manufacturer_code": "M01",
            "manufactured_on": "2023-05-01", "owner": {"company_id": "C1"}}


async def register_together(client: httpx.AsyncClient, serials: list[str]) -> list[httpx.Response]:
    return list(await asyncio.gather(*(client.post("/api/v1/cylinders", json=registration(s)) for s in serials)))


async def test_a_batch_of_registrations_reads_the_store_once_before_its_commands(
    client: httpx.AsyncClient, services: Services,
) -> None:
    await f.company(client, gs1_company_prefix=OLD_PREFIX)
    first = await register_together(client, ["1", "2"])  # the appender sees company C1
    assert [r.status_code for r in first] == [201, 201]
    with statements(services) as sent:
        answers = await register_together(client, ["3", "4", "5"])
    assert [r.status_code for r in answers] == [201] * 3, [r.text for r in answers]
    assert {r.json()["code"] for r in answers} == {make_grai(OLD_PREFIX, 4, s).code for s in "345"}
    seen = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    batches = [s for s in seen if "ct_take_append_lock" in s]
    batch_reads = [s for s in seen if "ct_take_append_lock" not in s]
    assert batches and len(batch_reads) == len(batches), batch_reads  # the prefetch, and nothing after it


async def test_a_code_made_under_a_changed_prefix_is_still_found_taken(
    client: httpx.AsyncClient, services: Services,
) -> None:
    await f.company(client, gs1_company_prefix=OLD_PREFIX)
    assert [r.status_code for r in await register_together(client, ["1"])] == [201]
    taken = make_grai(NEW_PREFIX, 4, "7").code
    await f.cylinder(client, code=taken)  # registered by hand under the prefix the company moves to
    changed = await client.patch("/api/v1/companies/C1", json={"gs1_company_prefix": NEW_PREFIX})
    assert changed.status_code == 200, changed.text
    with statements(services) as sent:
        again, fresh = await register_together(client, ["7", "8"])  # the hint still says the old prefix
    assert again.status_code == 409 and taken in again.json()["detail"], again.text
    assert fresh.status_code == 201 and fresh.json()["code"] == make_grai(NEW_PREFIX, 4, "8").code, fresh.text
    assert any("FROM streams LEFT OUTER JOIN cylinders" in s for s in sent), "the codes the hint missed are loaded"
