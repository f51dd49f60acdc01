"""Checkpoints through the API, on SQLite and PostgreSQL: take, read, export a cylinder's proof file and
check it offline; who may; a proof for the state at the checkpoint's time however the streams grow."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from cylinder_trace.app.checkpoints import take_checkpoint_if_due
from cylinder_trace.app.services import Services, build_services
from cylinder_trace.domain.checkpoints import (
    CHECKPOINT_STREAM,
    parse_public_key,
    public_key_hex,
    signing_key,
    verify_proof_document,
)
from cylinder_trace.runtime import Runtime
from cylinder_trace.settings import Settings
from tests.conftest import Clock
from tests.support import factories as f


async def checkpoint(client: httpx.AsyncClient) -> dict[str, Any]:
    return await f.ok(await client.post("/api/v1/checkpoints"), 201)


async def export(client: httpx.AsyncClient, sequence: int, code: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/checkpoints/{sequence}/cylinders/{code}")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="checkpoint-{sequence}-{code}.json"'
    body: dict[str, Any] = response.json()
    return body


def town_key(services: Services) -> bytes:
    return bytes.fromhex(public_key_hex(signing_key(services.settings.checkpoint_signing_key)))


async def test_a_checkpoint_is_signed_served_and_proves_a_cylinders_history(
    client: httpx.AsyncClient, services: Services
) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    assert (await f.fill(client, code)).status_code == 201
    assert (await f.deliver(client, code)).status_code == 201
    taken = await checkpoint(client)
    statement = taken["statement"]
    assert taken["sequence"] == statement["sequence"] == 1 and taken["signature_algorithm"] == "Ed25519"
    assert taken["public_key"] == town_key(services).hex()
    # the registry entries (company, station, staff ×2, vehicle, agency, customer) and the cylinder
    assert statement["tree_size"] == 8 and statement["jurisdiction"] == "CN-JL-DAGANGZI"
    assert await f.ok(await client.get("/api/v1/checkpoints/latest")) == taken
    assert await f.ok(await client.get("/api/v1/checkpoints/1")) == taken

    doc = await export(client, 1, code)
    assert [e["type"] for e in doc["events"]] == ["CylinderRegistered", "CylinderFilled", "CylinderDelivered"]
    history = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history"))
    assert doc["events"] == history["events"] and doc["checkpoint"] == {
        k: v for k, v in taken.items() if k not in ("sequence", "event_id")}
    verdict = verify_proof_document(doc, town_key(services), kept_checkpoint=taken)
    assert verdict.ok, verdict.problems
    assert verdict.head is not None and verdict.head.version == 3


async def test_the_checkpoint_is_an_event_of_its_own_stream_and_the_next_tree_covers_it(
    client: httpx.AsyncClient, services: Services
) -> None:
    await f.town(client)
    first = await checkpoint(client)
    second = await checkpoint(client)
    assert second["sequence"] == 2 and second["statement"]["tree_size"] == first["statement"]["tree_size"] + 1
    history = await f.ok(await client.get("/api/v1/checkpoints/2"))
    assert history["event_id"] == second["event_id"] != first["event_id"]
    assert second["statement"]["position"] > first["statement"]["position"]

    async def stream(conn: Any) -> list[Any]:
        from cylinder_trace.store.event_store import read_stream

        return await read_stream(conn, CHECKPOINT_STREAM)

    recorded = await services.uow.read(stream)
    assert [(e.type, e.version, e.data["statement"]["root"]) for e in recorded] == [
        ("CheckpointTaken", 1, first["statement"]["root"]), ("CheckpointTaken", 2, second["statement"]["root"])]


async def test_a_proof_is_of_the_state_at_the_checkpoint_however_the_streams_grow(
    client: httpx.AsyncClient, services: Services
) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    other = (await f.cylinder(client))["code"]
    assert (await f.fill(client, code)).status_code == 201
    at_checkpoint = await export(client, (await checkpoint(client))["sequence"], code)
    # afterwards: the cylinder itself, another cylinder and new streams all grow
    assert (await f.deliver(client, code)).status_code == 201
    assert (await f.fill(client, other)).status_code == 201
    late = (await f.cylinder(client))["code"]
    await checkpoint(client)

    later = await export(client, 1, code)
    assert later == at_checkpoint and len(later["events"]) == 2
    assert verify_proof_document(later, town_key(services)).ok
    assert verify_proof_document(await export(client, 1, other), town_key(services)).ok
    newest = await export(client, 2, code)
    assert len(newest["events"]) == 3 and verify_proof_document(newest, town_key(services)).ok
    missing = await client.get(f"/api/v1/checkpoints/1/cylinders/{late}")
    assert missing.status_code == 404 and "checkpoint 1" in missing.text


async def test_only_admin_and_regulator_take_read_and_export(client: httpx.AsyncClient) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    regulator = await f.token(client, "regulator")
    taken = await f.ok(await client.post("/api/v1/checkpoints", headers=regulator), 201)
    assert (await client.get(f"/api/v1/checkpoints/1/cylinders/{code}", headers=regulator)).status_code == 200
    assert taken["statement"]["sequence"] == 1
    others = [await f.token(client, "company_admin", company_id="C1"),
              await f.token(client, "inspector", agency_id="A1"),
              await f.token(client, "station_operator", company_id="C1", station_id="S1")]
    for headers in others:
        assert (await client.post("/api/v1/checkpoints", headers=headers)).status_code == 403
        assert (await client.get("/api/v1/checkpoints/latest", headers=headers)).status_code == 403
        assert (await client.get("/api/v1/checkpoints/1", headers=headers)).status_code == 403
        assert (await client.get(f"/api/v1/checkpoints/1/cylinders/{code}", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/checkpoints/latest", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await f.ok(await client.get("/api/v1/checkpoints/latest", headers=regulator)))["sequence"] == 1


async def test_unknown_and_malformed_names_are_404_and_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/checkpoints/latest")).status_code == 404
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    await checkpoint(client)
    assert (await client.get("/api/v1/checkpoints/2")).status_code == 404
    zero = await client.get("/api/v1/checkpoints/0")
    assert zero.status_code == 422 and "sequence" in zero.text
    assert (await client.get("/api/v1/checkpoints/x")).status_code == 422
    assert (await client.get(f"/api/v1/checkpoints/2/cylinders/{code}")).status_code == 404
    assert (await client.get("/api/v1/checkpoints/1/cylinders/12345")).status_code == 422


async def test_the_schedule_takes_one_when_the_newest_is_a_day_old(services: Services, clock: Clock) -> None:
    settings = services.settings
    first = await take_checkpoint_if_due(services.uow, settings, clock())
    assert first is not None and first["sequence"] == 1
    clock.advance(hours=23)
    assert await take_checkpoint_if_due(services.uow, settings, clock()) is None
    clock.advance(hours=1)
    second = await take_checkpoint_if_due(services.uow, settings, clock())
    assert second is not None and second["sequence"] == 2
    assert second["statement"]["taken_at"] == clock().isoformat(timespec="microseconds")
    assert parse_public_key(second["public_key"]) == town_key(services)


async def _sequences(services: Services) -> list[int]:
    async def read(conn: Any) -> list[int]:
        from cylinder_trace.store.event_store import read_stream

        return [e.version for e in await read_stream(conn, CHECKPOINT_STREAM)]

    return await services.uow.read(read)


async def _until(condition: Any, services: Services) -> list[int]:
    for _ in range(400):  # a bound, not a timing claim: the schedule looks every 0.05 s
        sequences = await _sequences(services)
        if condition(sequences):
            return sequences
        await asyncio.sleep(0.05)
    raise AssertionError(f"the schedule took {await _sequences(services)}")


async def test_serve_takes_them_on_its_schedule(settings: Settings, clock: Clock) -> None:
    services = build_services(settings.model_copy(update={"checkpoint_interval_s": 0.05}), clock=clock)
    runtime = Runtime(services, ingest=False, relay=False)
    await runtime.start()
    try:
        assert await _until(lambda s: s == [1], services) == [1]
        clock.advance(seconds=1)  # the newest is now older than the interval
        assert (await _until(lambda s: len(s) >= 2, services))[:2] == [1, 2]
    finally:
        await runtime.stop()
        await services.close()
    idle = build_services(settings.model_copy(update={"checkpoint_interval_s": 0}), clock=clock)
    runtime = Runtime(idle, ingest=False, relay=False)
    await runtime.start()
    try:
        assert "checkpoints" not in {t.get_name() for t in runtime._tasks}
    finally:
        await runtime.stop()
        await idle.close()
