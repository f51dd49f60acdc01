"""The ingestor's tables, written in batches inside the caller's transaction.

PostgreSQL takes a whole batch of messages in one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO
NOTHING RETURNING`` (one round trip, one prepared statement whatever the batch size); SQLite, the
single-writer development database, takes them row by row. Both report exactly which rows were new.

Device status is kept with one ``INSERT … ON CONFLICT DO UPDATE`` per batch whose rule does not depend
on the order batches commit in (highest ``seq``, latest receipt, the battery reading of the highest
``seq``: :meth:`cylinder_trace.domain.valves.DeviceStatus.merged`), so ingestors sharing a subscription
never read-modify-write a status row. Rows are written in key order, which keeps two batches from
waiting on each other in a cycle. The missing ``seq`` ranges are read from ``valve_messages`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.valves import DeviceStatus, Report, StatusReport
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


_PG_UPSERT_REPORTS = sa.text(
    "INSERT INTO valve_status AS s (valve_id, last_seq, last_seen, battery_seq, battery_pct, rssi, level_pct) "
    "SELECT * FROM unnest(CAST(:valve_id AS varchar[]), CAST(:last_seq AS bigint[]), "
    "CAST(:last_seen AS timestamptz[]), CAST(:battery_seq AS bigint[]), CAST(:battery_pct AS float8[]), "
    "CAST(:rssi AS float8[]), CAST(:level_pct AS float8[])) "
    "ON CONFLICT (valve_id) DO UPDATE SET "
    "last_seq = GREATEST(s.last_seq, EXCLUDED.last_seq), "
    "last_seen = GREATEST(s.last_seen, EXCLUDED.last_seen), "
    "battery_pct = CASE WHEN EXCLUDED.battery_seq > s.battery_seq THEN EXCLUDED.battery_pct ELSE s.battery_pct END, "
    "rssi = CASE WHEN EXCLUDED.battery_seq > s.battery_seq THEN COALESCE(EXCLUDED.rssi, s.rssi) ELSE s.rssi END, "
    "level_pct = CASE WHEN EXCLUDED.battery_seq > s.battery_seq THEN COALESCE(EXCLUDED.level_pct, s.level_pct) "
    "ELSE s.level_pct END, "
    "battery_seq = GREATEST(s.battery_seq, EXCLUDED.battery_seq)"
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


_REPORT_FIELDS = ("valve_id", "last_seq", "last_seen", "battery_seq", "battery_pct", "rssi", "level_pct")


async def upsert_reports(conn: AsyncConnection, reports: Sequence[StatusReport]) -> None:
    """Merge each valve's :class:`StatusReport` into its status row (created when missing)."""
    if not reports:
        return
    ordered = sorted(reports, key=lambda r: r.valve_id)
    if _is_postgres(conn):
        await conn.execute(_PG_UPSERT_REPORTS, {f: [getattr(r, f) for r in ordered] for f in _REPORT_FIELDS})
        return
    stmt = sqlite.insert(valve_status)
    old, new = valve_status.c, stmt.excluded
    newer = new.battery_seq > old.battery_seq
    stmt = stmt.on_conflict_do_update(index_elements=["valve_id"], set_={
        "last_seq": sa.func.max(old.last_seq, new.last_seq),
        "last_seen": sa.func.max(sa.func.coalesce(old.last_seen, new.last_seen), new.last_seen),
        "battery_pct": sa.case((newer, new.battery_pct), else_=old.battery_pct),
        "rssi": sa.case((newer, sa.func.coalesce(new.rssi, old.rssi)), else_=old.rssi),
        "level_pct": sa.case((newer, sa.func.coalesce(new.level_pct, old.level_pct)), else_=old.level_pct),
        "battery_seq": sa.func.max(old.battery_seq, new.battery_seq),
    })
    await conn.execute(stmt, [{f: getattr(r, f) for f in _REPORT_FIELDS} for r in ordered])


async def upsert_presence(conn: AsyncConnection, presence: Mapping[str, tuple[bool, datetime]]) -> None:
    """What the status topic said last per valve; ``status_changed_at`` moves only when it changes."""
    if not presence:
        return
    stmt = _insert(conn, valve_status)
    old, new = valve_status.c, stmt.excluded
    stmt = stmt.on_conflict_do_update(index_elements=["valve_id"], set_={
        "status_changed_at": sa.case((old.online.is_distinct_from(new.online), new.status_changed_at),
                                     else_=old.status_changed_at),
        "online": new.online,
    })
    await conn.execute(stmt, [{"valve_id": v, "online": online, "status_changed_at": at}
                              for v, (online, at) in sorted(presence.items())])


async def read_status(conn: AsyncConnection, valve_id: str) -> DeviceStatus:
    row = (await conn.execute(sa.select(valve_status).where(valve_status.c.valve_id == valve_id))).first()
    if row is None:
        return DeviceStatus()
    return DeviceStatus(
        last_seq=row.last_seq, last_seen=row.last_seen, battery_pct=row.battery_pct, rssi=row.rssi,
        level_pct=row.level_pct, battery_seq=row.battery_seq, online=row.online,
        status_changed_at=row.status_changed_at,
    )


async def read_missing(conn: AsyncConnection, valve_id: str, limit: int = 1000) -> list[list[int]]:
    """The missing ``seq`` ranges of a valve (:func:`cylinder_trace.domain.valves.missing_ranges`), from
    the primary key's index: the holes between consecutive stored ``seq`` and before the first."""
    m = valve_messages.c
    first = (await conn.execute(sa.select(sa.func.min(m.seq)).where(m.valve_id == valve_id))).scalar()
    if first is None:
        return []
    ranges = [[1, int(first) - 1]] if first > 1 else []
    pairs = sa.select(m.seq, sa.func.lead(m.seq).over(order_by=m.seq).label("next_seq")).where(
        m.valve_id == valve_id).subquery()
    holes = sa.select(pairs.c.seq, pairs.c.next_seq).where(pairs.c.next_seq > pairs.c.seq + 1).order_by(
        pairs.c.seq).limit(limit)
    ranges += [[int(r.seq) + 1, int(r.next_seq) - 1] for r in await conn.execute(holes)]
    return ranges[:limit]


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
