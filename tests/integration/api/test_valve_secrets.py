"""A valve's secret never enters the event log or the registry projection: registry events carry its
SHA-256, the value sits in ``registry_secrets``; and a database from before moves its secrets there."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.app.unit_of_work import Tx
from cylinder_trace.domain.events import NewEvent, registry_stream
from cylinder_trace.store.db import create_engine
from cylinder_trace.store.migrate import upgrade
from cylinder_trace.store.tables import events, registry, registry_secrets
from tests.integration.ingest.infra import create_database, drop_database
from tests.support import factories as f
from tests.support.databases import PG_ADMIN_DSN

SECRET = "ab" * 32
OTHER = "cd" * 32


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def table(services: Services, t: sa.Table) -> list[sa.Row]:  # type: ignore[type-arg]
    async with services.engine.connect() as conn:
        return list((await conn.execute(sa.select(t))).all())


async def logged_text(services: Services) -> str:
    return " ".join(str(r.data) for r in await table(services, events))


async def test_the_secret_is_kept_apart_from_the_log(client: httpx.AsyncClient, services: Services) -> None:
    await f.company(client)
    body = {"valve_id": "V1", "company_id": "C1", "secret": SECRET}
    answer = await client.post("/api/v1/valves", json=body)
    created = await f.ok(answer, 201)
    assert "secret" not in created and SECRET not in answer.text
    assert SECRET not in await logged_text(services)
    [event] = [r for r in await table(services, events)
               if r.type == "RegistryEntryCreated" and r.stream_id.endswith("V1")]
    assert event.data["secrets"] == {"secret": sha(SECRET)} and "secret" not in event.data["entry"]
    [entry] = [r for r in await table(services, registry) if r.kind == "valve"]
    assert "secret" not in entry.data
    assert [(r.kind, r.id, r.field, r.value) for r in await table(services, registry_secrets)] == [
        ("valve", "V1", "secret", SECRET)]

    assert (await client.post("/api/v1/valves", json=body)).status_code == 200  # the same again
    assert (await client.post("/api/v1/valves", json={**body, "secret": OTHER})).status_code == 409

    patched = await client.patch("/api/v1/valves/V1", json={"secret": OTHER})
    assert patched.status_code == 200
    for answer in (patched, await client.get("/api/v1/valves/V1")):
        assert answer.status_code == 200 and SECRET not in answer.text and OTHER not in answer.text
    assert SECRET not in await logged_text(services) and OTHER not in await logged_text(services)
    changed = [r for r in await table(services, events) if r.type == "RegistryEntryChanged"]
    assert [c.data["secrets"] for c in changed] == [{"secret": sha(OTHER)}]
    assert [r.value for r in await table(services, registry_secrets)] == [OTHER]
    count = len(await table(services, events))
    await f.ok(await client.patch("/api/v1/valves/V1", json={"secret": OTHER}))  # no change: no event
    assert len(await table(services, events)) == count


def _old_database_upgraded(url: str) -> tuple[dict[str, object], list[tuple[str, str, str, str]]]:
    """Migrated to both former heads, a valve entry holding its secret, then upgraded to heads."""
    upgrade(url, "0004")
    upgrade(url, "0005")

    async def seed_then_read(after_upgrade: bool) -> tuple[dict[str, object], list[tuple[str, str, str, str]]]:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                if not after_upgrade:
                    await conn.execute(sa.insert(registry), [{
                        "kind": "valve", "id": "V1", "company_id": "C1", "version": 1, "updated_at": datetime.now(UTC),
                        "data": {"valve_id": "V1", "company_id": "C1", "secret": SECRET}}])
                    return {}, []
                data = (await conn.execute(sa.select(registry.c.data))).scalar_one()
                rows = (await conn.execute(sa.select(registry_secrets.c.kind, registry_secrets.c.id,
                                                     registry_secrets.c.field, registry_secrets.c.value))).all()
                return dict(data), [tuple(r) for r in rows]
        finally:
            await engine.dispose()

    asyncio.run(seed_then_read(False))
    upgrade(url, "heads")
    return asyncio.run(seed_then_read(True))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_older_database_moves_its_secrets_out_of_the_registry(backend: str, tmp_path: Path) -> None:
    name = f"ct_test_secrets_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        asyncio.run(create_database(PG_ADMIN_DSN, name))
        url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        data, secrets = _old_database_upgraded(url)
    finally:
        if backend == "postgres":
            asyncio.run(drop_database(PG_ADMIN_DSN, name))
    assert data == {"valve_id": "V1", "company_id": "C1"}
    assert secrets == [("valve", "V1", "secret", SECRET)]


async def test_an_event_recorded_with_its_secret_before_is_projected_without_it(services: Services) -> None:
    async def old_style(tx: Tx) -> None:
        entry = {"valve_id": "V9", "company_id": "C1", "secret": SECRET}
        await tx.record([NewEvent("RegistryEntryCreated", {"kind": "valve", "id": "V9", "entry": entry}, tx.now,
                                  registry_stream("valve", "V9"))], event_id=str(uuid.uuid4()), actor="system:test")

    await services.uow.write(old_style)
    [entry] = await table(services, registry)
    assert entry.data == {"valve_id": "V9", "company_id": "C1"}
