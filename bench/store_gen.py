"""Large stores for the benchmarks, written with COPY (never through the API).

A generated store looks like a town's: a company with a station, staff and customers (registry events),
and cylinders whose histories interleave in time as real ones do — registered, fitted with a smart
valve, then rounds of filled → delivered (with the in-home safety check) → the valve reporting opened
and closed → collected. Every event is hash-chained exactly as the service chains it, so ``/verify``
holds, and the stream heads are written too. Projections are left empty: ``cylinder-trace rebuild``
fills them (that is a benchmark of its own).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from cylinder_trace.domain import decide
from cylinder_trace.domain import events as ev
from cylinder_trace.domain.canonical import ZERO_HASH, chain_hash
from cylinder_trace.domain.codes import make_grai
from cylinder_trace.domain.commands import RegisterCylinder
from cylinder_trace.domain.valves import VALVE_REPORTED
from cylinder_trace.policy import load_policy_book
from cylinder_trace.store.event_store import hashed_body

PREFIX = "6901234"
T0 = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
COLUMNS = ("position", "stream_id", "version", "event_id", "type", "occurred_at", "recorded_at", "actor", "source",
           "data", "prev_hash", "hash")
_NAMESPACE = uuid.UUID("a3d4b7e0-5b7c-4d3e-8f61-2a9c0e4b1d55")
SAFETY_CHECK = {"performed": True, "notice_given": True, "customer_signed": True, "hazards": []}
CHECKS = {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True}


def code_of(i: int) -> str:
    return make_grai(PREFIX, 4, f"G{i:08d}").code


@dataclass
class _Stream:
    stream_id: str
    version: int = 0
    head: str = ZERO_HASH


class StoreWriter:
    """Chains events onto their streams and hands out rows in position order."""

    def __init__(self) -> None:
        self.streams: dict[str, _Stream] = {}
        self.position = 0

    def event(self, stream_id: str, type_: str, data: dict[str, Any], at: datetime, actor: str,
              source: str = "api") -> tuple[Any, ...]:
        s = self.streams.get(stream_id)
        if s is None:
            s = self.streams[stream_id] = _Stream(stream_id)
        s.version += 1
        self.position += 1
        event_id = str(uuid.uuid5(_NAMESPACE, f"{stream_id}:{s.version}"))
        recorded_at = at + timedelta(seconds=2)
        digest = chain_hash(s.head, hashed_body(event_id, stream_id, s.version, type_, at, recorded_at, actor, data))
        row = (self.position, stream_id, s.version, event_id, type_, at, recorded_at, actor, source,
               json.dumps(data), s.head, digest)
        s.head = digest
        return row


def _registry(w: StoreWriter, customers: int) -> Iterator[tuple[Any, ...]]:
    entries: list[tuple[str, dict[str, Any]]] = [
        ("company", {"id": "C1", "name": "大岗子燃气有限公司", "gs1_company_prefix": PREFIX, "licence_no": "JL-GAS-001",
                     "licence_valid_until": "2030-12-31"}),
        ("station", {"id": "S1", "company_id": "C1", "name": "一号充装站", "licence_no": "TS-001",
                     "licence_valid_until": "2030-12-31"}),
        ("staff", {"id": "F1", "company_id": "C1", "name": "王师傅", "phone": "13800000001", "kind": "filler",
                   "certificate_no": "CERT-F1", "certificate_valid_until": "2030-12-31"}),
        ("staff", {"id": "D1", "company_id": "C1", "name": "李师傅", "phone": "13800000002", "kind": "delivery_worker",
                   "certificate_no": "CERT-D1", "certificate_valid_until": "2030-12-31"}),
    ]
    entries += [("customer", {"id": f"U{k}", "company_id": "C1", "kind": "residential", "name": "张三",
                              "id_number": "220102199001011234", "phone": "13900000000",
                              "address": "大岗子镇幸福街1号"}) for k in range(customers)]
    for kind, entry in entries:
        data = {"kind": kind, "id": entry["id"], "entry": entry}
        yield w.event(f"{kind}:{entry['id']}", ev.REGISTRY_ENTRY_CREATED, data, T0, "admin:admin")


def _registration(code: str, at: datetime) -> dict[str, Any]:
    policy = load_policy_book(None).at("CN-JL-DAGANGZI", at.date())
    cmd = RegisterCylinder(code=code, prefix_length=len(PREFIX), serial=code[14:], model="YSP35.5",
                           manufacturer_code="M01", manufactured_on=date(2023, 5, 1), owner_company_id="C1",
                           owner_customer_id=None, last_inspected_on=None, tare_kg=None, occurred_at=at)
    return decide.register(cmd, policy, at.date()).events[0].data


def history_rows(w: StoreWriter, cylinders: int, events_per_cylinder: int, customers: int = 500
                 ) -> Iterator[tuple[Any, ...]]:
    """Every row of the store in position order: the registry, then the cylinders' histories interleaved
    step by step (each step an hour later), each cylinder's ``events_per_cylinder`` events long."""
    yield from _registry(w, customers)
    template = _registration(code_of(0), T0)
    cycle = ("fill", "deliver", "opened", "closed", "opened", "closed", "opened", "closed", "collect")
    for step in range(events_per_cylinder):
        at = T0 + timedelta(hours=step)
        for i in range(cylinders):
            code = code_of(i)
            stream = f"cylinder:{code}"
            valve = f"V{i:07d}"
            moment = at + timedelta(milliseconds=i)
            if step == 0:
                data = {**template, "code": code, "serial": code[14:]}
                yield w.event(stream, ev.CYLINDER_REGISTERED, data, moment, "station_operator:bench")
                continue
            if step == 1:
                yield w.event(stream, ev.SMART_VALVE_FITTED, {"valve_id": valve, "replaced_valve_id": None}, moment,
                              "company_admin:bench")
                continue
            kind = cycle[(step - 2) % len(cycle)]
            customer = f"U{i % customers}"
            if kind == "fill":
                yield w.event(stream, ev.CYLINDER_FILLED, {"station_id": "S1", "filler_id": "F1", "net_mass_kg": 14.5,
                                                           "checks": CHECKS}, moment, "station_operator:bench")
            elif kind == "deliver":
                yield w.event(stream, ev.CYLINDER_DELIVERED, {"customer_id": customer, "worker_id": "D1",
                                                              "vehicle_plate": "吉G12345",
                                                              "safety_check": SAFETY_CHECK},
                              moment, "delivery_worker:bench")
            elif kind == "collect":
                yield w.event(stream, ev.CYLINDER_COLLECTED, {"customer_id": customer, "worker_id": "D1",
                                                              "residual_kg": 0.4}, moment, "delivery_worker:bench")
            else:
                ts = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                yield w.event(stream, VALVE_REPORTED, {
                    "valve_id": valve, "seq": step, "type": kind, "ts": ts, "data": {},
                    "received_at": (moment + timedelta(seconds=1)).isoformat(timespec="microseconds"),
                    "violations": []}, moment, f"valve:{valve}", source="mqtt")


async def copy_store(dsn: str, cylinders: int, events_per_cylinder: int, *, chunk: int = 50_000) -> tuple[int, float]:
    """Write the generated store into the (migrated, empty) database at ``dsn``; returns the number of
    events and the seconds COPY itself took (the generation is not counted)."""
    conn = await asyncpg.connect(dsn)
    copying = 0.0
    total = 0
    try:
        writer = StoreWriter()
        rows = history_rows(writer, cylinders, events_per_cylinder)
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                copying += await _copy(conn, "events", COLUMNS, batch)
                total += len(batch)
                batch = []
        if batch:
            copying += await _copy(conn, "events", COLUMNS, batch)
            total += len(batch)
        copying += await _copy(conn, "streams", ("stream_id", "version", "head_hash"),
                               [(s.stream_id, s.version, s.head) for s in writer.streams.values()])
        await conn.execute("ANALYZE events; ANALYZE streams")
    finally:
        await conn.close()
    return total, copying


async def _copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> float:
    started = time.perf_counter()
    await conn.copy_records_to_table(table, records=rows, columns=list(columns))
    return time.perf_counter() - started
