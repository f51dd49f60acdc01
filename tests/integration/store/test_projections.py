"""Catch-up projections: checkpoint in the same transaction, resumable, rebuildable to the same rows."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.store.projections import checkpoint, rebuild
from cylinder_trace.store.tables import cylinders, events, registry
from tests.support import factories as f


async def _rows(services: Services, table: sa.Table) -> list[tuple[object, ...]]:
    async with services.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(sa.select(table).order_by(*table.primary_key))).all()]


async def test_rebuild_from_zero_gives_the_same_rows(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    codes = [(await f.cylinder(client))["code"] for _ in range(3)]
    assert (await f.fill(client, codes[0])).status_code == 201
    assert (await f.deliver(client, codes[0])).status_code == 201
    assert (await client.patch("/api/v1/stations/S1", json={"name": "二号站"})).status_code == 200
    before = {t.name: await _rows(services, t) for t in (cylinders, registry)}
    assert len(before["cylinders"]) == 3
    async with services.engine.begin() as conn:
        for projection in services.uow.projections:
            await rebuild(conn, [projection])
    after = {t.name: await _rows(services, t) for t in (cylinders, registry)}
    assert after == before


async def test_checkpoint_is_the_last_position(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    await f.cylinder(client)
    async with services.engine.connect() as conn:
        last = (await conn.execute(sa.select(sa.func.max(events.c.position)))).scalar_one()
        for projection in services.uow.projections:
            assert await checkpoint(conn, projection.name) == last
