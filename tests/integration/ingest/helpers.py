"""Small helpers for the ingestor's tests: signed messages, received items, a smart-valve cylinder."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from cylinder_trace.app.fill_authorizations import IssuedAuthorization, issue_fill_authorization
from cylinder_trace.app.principals import admin_principal
from cylinder_trace.app.services import Services
from cylinder_trace.app.unit_of_work import Tx
from cylinder_trace.app.valve_batches import BatchOutcome, store_batch, verify
from cylinder_trace.app.valve_keys import ValveKeys
from cylinder_trace.ingest.decode import Received, decode
from cylinder_trace.mqtt.protocol import EventType, build_event, encode, events_topic, status_topic
from tests.support import factories as f

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
_mids = itertools.count(1)


def secret_of(valve_id: str, seed: str = "test") -> bytes:
    return hashlib.sha256(f"{seed}:{valve_id}".encode()).digest()


def signed(valve_id: str, seq: int, type_: str = "heartbeat", data: dict[str, Any] | None = None,
           ts: datetime = T0, secret: bytes | None = None) -> bytes:
    if data is None and type_ == "heartbeat":
        data = {"battery_pct": 80, "rssi": -60}
    body = build_event(secret or secret_of(valve_id), valve_id, seq, ts, EventType(type_), data or {})
    return encode(body)


def received(topic: str, payload: bytes, *, at: datetime = T0, retain: bool = False) -> Received:
    return Received(topic, payload, mid=next(_mids), qos=1, retain=retain, received_at=at, received_mono=0.0,
                    generation=1)


def event(valve_id: str, seq: int, type_: str = "heartbeat", data: dict[str, Any] | None = None, *,
          ts: datetime = T0, at: datetime = T0, secret: bytes | None = None) -> Received:
    return received(events_topic(valve_id), signed(valve_id, seq, type_, data, ts, secret), at=at)


def status(valve_id: str, online: bool, *, retain: bool = True, at: datetime = T0) -> Received:
    return received(status_topic(valve_id), b"online" if online else b"offline", retain=retain, at=at)


async def ingest(services: Services, items: Sequence[Received]) -> BatchOutcome:
    """One batch through the ingestor's own verify + transaction, without a broker."""
    verified = await verify([decode(item) for item in items], ValveKeys(services.engine))
    return await store_batch(services.uow, verified)


async def valve(client: httpx.AsyncClient, valve_id: str, company_id: str = "C1") -> None:
    await f.ok(await client.post("/api/v1/valves", json={"valve_id": valve_id, "company_id": company_id,
                                                         "secret": secret_of(valve_id).hex()}))


async def smart_cylinder(client: httpx.AsyncClient, valve_id: str) -> str:
    """A registered cylinder of company C1 with ``valve_id`` fitted (the valve is registered too)."""
    await valve(client, valve_id)
    code = str((await f.cylinder(client))["code"])
    await f.ok(await client.post(f"/api/v1/cylinders/{code}/valve", json={
        "event_id": f.eid(), "valve_id": valve_id, "occurred_at": "2026-11-27T08:00:00+08:00"}), 201)
    return code


async def authorize(services: Services, code: str) -> IssuedAuthorization:
    """A fill authorization at station S1 for the cylinder ``code``, as a passing fill check issues it."""
    async def handler(tx: Tx) -> IssuedAuthorization | None:
        state = await tx.load_cylinder(code)
        assert state is not None
        return await issue_fill_authorization(tx, state, "S1", actor=admin_principal().actor)

    issued = await services.uow.write(handler)
    assert issued is not None
    return issued
