"""The ingestor's tables, written in batches inside the caller's transaction.

PostgreSQL takes a whole batch of messages in one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO
NOTHING RETURNING`` (one round trip, one prepared statement whatever the batch size); SQLite, the
single-writer development database, takes them row by row. Both report exactly which rows were new.

Locks, to stay free of deadlocks between ingestors sharing a subscription: a batch first locks the
status rows of every valve it carries, in ``valve_id`` order, and only then inserts messages, so two
batches never wait on each other's messages while holding status rows the other needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.valves import DeviceStatus, Report, SeqGaps
from ..store.tables import dead_letters, valve_messages, valve_status
from .decode import MAX_DEAD_LETTER_BYTES, DeadLetter, EventMessage

Key = tuple[str, int]

_PG_INSERT_MESSAGES = sa.text(
    "INSERT INTO valve_messages (valve_id, seq, type, ts, received_at, digest, payload) "
    "SELECT * FROM unnest(CAST(:valve_ids AS varchar[]), CAST(:seqs AS bigint[]), CAST(:types AS varchar[]), "
    "CAST(:ts AS timestamptz[]), CAST(:received_at AS timestamptz[]), CAST(:digests AS varchar[]), "
    "CAST(:payloads AS bytea[])) "
    "ON CONFLICT (valve_id, seq) DO NOTHING RETURNING valve_id, seq"
)


def _is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    return (postgresql if _is_postgres(conn) else sqlite).insert(table)


async def insert_messages(conn: AsyncConnection, events: Sequence[EventMessage]) -> set[Key]:
    """Store each message unless its ``(valve_id, seq)`` is there already; returns the keys stored."""
    if not events:
        return set()
    if _is_postgres(conn):
        result = await conn.execute(_PG_INSERT_MESSAGES, {
            "valve_ids": [e.message.valve_id for e in events],
            "seqs": [e.message.seq for e in events],
            "types": [e.message.type.value for e in events],
            "ts": [e.message.ts for e in events],
            "received_at": [e.item.received_at for e in events],
            "digests": [e.digest for e in events],
            "payloads": [e.item.payload for e in events],
        })
        return {(row.valve_id, int(row.seq)) for row in result}
    stored: set[Key] = set()
    stmt = _insert(conn, valve_messages).on_conflict_do_nothing(index_elements=["valve_id", "seq"])
    for e in events:
        result = await conn.execute(stmt, _message_row(e))
        if result.rowcount == 1:
            stored.add(e.key)
    return stored


def _message_row(e: EventMessage) -> dict[str, Any]:
    return {
        "valve_id": e.message.valve_id, "seq": e.message.seq, "type": e.message.type.value,
        "ts": e.message.ts, "received_at": e.item.received_at, "digest": e.digest, "payload": e.item.payload,
    }


async def stored_digests(conn: AsyncConnection, keys: Iterable[Key]) -> dict[Key, str]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    query = sa.select(valve_messages.c.valve_id, valve_messages.c.seq, valve_messages.c.digest).where(
        sa.tuple_(valve_messages.c.valve_id, valve_messages.c.seq).in_(wanted))
    return {(r.valve_id, int(r.seq)): r.digest for r in await conn.execute(query)}


async def insert_dead_letters(conn: AsyncConnection, letters: Sequence[DeadLetter]) -> None:
    if not letters:
        return
    await conn.execute(sa.insert(dead_letters), [
        {
            "received_at": d.item.received_at,
            "topic": _text(d.item.topic),
            "kind": d.kind,
            "reason": _truncated_reason(d),
            "valve_id": d.valve_id,
            "payload": d.item.payload[:MAX_DEAD_LETTER_BYTES],
        }
        for d in letters
    ])


def _text(value: str) -> str:
    """Text PostgreSQL can hold (no NUL characters)."""
    return value.replace("\x00", "\\x00")


def _truncated_reason(d: DeadLetter) -> str:
    reason = _text(d.reason[:1000])
    if len(d.item.payload) > MAX_DEAD_LETTER_BYTES:
        reason += f" (payload of {len(d.item.payload)} bytes kept up to {MAX_DEAD_LETTER_BYTES})"
    return reason


# --- device status -----------------------------------------------------------------------------------


def status_from_row(row: Mapping[Any, Any]) -> DeviceStatus:
    return DeviceStatus(
        gaps=SeqGaps.from_json(row["last_seq"], row["missing"]),
        last_seen=row["last_seen"],
        battery_pct=row["battery_pct"],
        rssi=row["rssi"],
        level_pct=row["level_pct"],
        battery_seq=row["battery_seq"] or 0,
        online=row["online"],
        status_changed_at=row["status_changed_at"],
    )


def _status_values(status: DeviceStatus) -> dict[str, Any]:
    return {
        "online": status.online,
        "status_changed_at": status.status_changed_at,
        "last_seen": status.last_seen,
        "battery_pct": status.battery_pct,
        "battery_seq": status.battery_seq,
        "rssi": status.rssi,
        "level_pct": status.level_pct,
        "last_seq": status.gaps.last_seq,
        "missing": status.gaps.missing_json(),
        "missing_count": status.gaps.missing_count,
    }


async def lock_statuses(conn: AsyncConnection, valve_ids: Iterable[str]) -> dict[str, DeviceStatus]:
    """Make sure each valve has a status row, lock them in ``valve_id`` order, and read them."""
    ids = sorted(set(valve_ids))
    if not ids:
        return {}
    ensure = _insert(conn, valve_status).on_conflict_do_nothing(index_elements=["valve_id"])
    await conn.execute(ensure, [{"valve_id": v, "missing": []} for v in ids])
    query = sa.select(valve_status).where(valve_status.c.valve_id.in_(ids)).order_by(valve_status.c.valve_id)
    if _is_postgres(conn):
        query = query.with_for_update()
    return {row.valve_id: status_from_row(row._mapping) for row in await conn.execute(query)}


async def save_statuses(conn: AsyncConnection, changed: Mapping[str, DeviceStatus]) -> None:
    if not changed:
        return
    values: dict[str, Any] = {name: sa.bindparam(f"new_{name}") for name in _status_values(DeviceStatus())}
    stmt = sa.update(valve_status).where(valve_status.c.valve_id == sa.bindparam("key_valve_id")).values(values)
    await conn.execute(stmt, [
        {"key_valve_id": valve_id, **{f"new_{k}": v for k, v in _status_values(status).items()}}
        for valve_id, status in sorted(changed.items())
    ])


def report_of(e: EventMessage) -> Report:
    data = e.message.data
    return Report(
        seq=e.message.seq, type=e.message.type.value, received_at=e.item.received_at,
        battery_pct=_number(data.get("battery_pct")), rssi=_number(data.get("rssi")),
        level_pct=_number(data.get("level_pct")),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def latest_presence(items: Iterable[tuple[str, bool, datetime]]) -> dict[str, tuple[bool, datetime]]:
    """The last word of the status topic per valve, in arrival order."""
    out: dict[str, tuple[bool, datetime]] = {}
    for valve_id, online, at in items:
        out[valve_id] = (online, at)
    return out
