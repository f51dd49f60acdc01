"""Generated codes never collide: concurrent registrations without a serial each get a code of their own,
the next free serial, skipping codes registered by hand."""

from __future__ import annotations

import asyncio

import httpx

from cylinder_trace.domain.codes import make_grai
from tests.support import factories as f

PREFIX = "6901234"


async def test_concurrent_registrations_without_a_serial_get_distinct_codes(client: httpx.AsyncClient) -> None:
    await f.company(client, gs1_company_prefix=PREFIX)
    taken = make_grai(PREFIX, 4, "3").code  # registered by hand, in the counter's way
    await f.cylinder(client, code=taken)
    answers = await asyncio.gather(*(client.post("/api/v1/cylinders", json={
        "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2023-05-01",
        "owner": {"company_id": "C1"}}) for _ in range(24)))
    assert [a.status_code for a in answers] == [201] * 24, [a.text for a in answers if a.status_code != 201]
    codes = [a.json()["code"] for a in answers]
    assert len(set(codes)) == 24 and taken not in codes
    serials = sorted(int(c[14:]) for c in codes)
    assert serials == [n for n in range(1, 26) if n != 3], serials  # the next free ones, none skipped twice
