"""The valve messages as stored (``valve_messages``) and those refused (``dead_letters``).

PostgreSQL takes a whole batch of messages in one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO
NOTHING RETURNING`` (one round trip, one prepared statement whatever the batch size); SQLite, the
single-writer development database, takes them row by row. Both report exactly which rows were new.
The missing ``seq`` ranges are read from ``valve_messages`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import dead_letters, valve_messages

Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One valve message as ``valve_messages`` keeps it."""

    valve_id: str
    seq: int
    type: str
    #: the valve's clock
    ts: datetime
    received_at: datetime
    #: what tells two deliveries of one ``(valve_id, seq)`` apart
    digest: str
    payload: bytes

    @property
    def key(self) -> Key:
        return self.valve_id, self.seq


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    received_at: datetime
    topic: str
    kind: str
    reason: str
    valve_id: str | None
    payload: bytes


_PG_INSERT_MESSAGES = sa.text(
    "INSERT INTO valve_messages (valve_id, seq, type, ts, received_at, digest, payload) "
    "SELECT * FROM unnest(CAST(:valve_ids AS varchar[]), CAST(:seqs AS bigint[]), CAST(:types AS varchar[]), "
    "CAST(:ts AS timestamptz[]), CAST(:received_at AS timestamptz[]), CAST(:digests AS varchar[]), "
    "CAST(:payloads AS bytea[])) "
    "ON CONFLICT (valve_id, seq) DO NOTHING RETURNING valve_id, seq"
)


async def insert_messages(conn: AsyncConnection, rows: Sequence[MessageRow]) -> set[Key]:
    """Store each message unless its ``(valve_id, seq)`` is there already; returns the keys stored."""
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":
        result = await conn.execute(_PG_INSERT_MESSAGES, {
            "valve_ids": [r.valve_id for r in rows],
            "seqs": [r.seq for r in rows],
            "types": [r.type for r in rows],
            "ts": [r.ts for r in rows],
            "received_at": [r.received_at for r in rows],
            "digests": [r.digest for r in rows],
            "payloads": [r.payload for r in rows],
        })
        return {(row.valve_id, int(row.seq)) for row in result}
    stored: set[Key] = set()
    stmt = sqlite.insert(valve_messages).on_conflict_do_nothing(index_elements=["valve_id", "seq"])
    for r in rows:
        result = await conn.execute(stmt, {
            "valve_id": r.valve_id, "seq": r.seq, "type": r.type, "ts": r.ts, "received_at": r.received_at,
            "digest": r.digest, "payload": r.payload,
        })
        if result.rowcount == 1:
            stored.add(r.key)
    return stored


async def stored_digests(conn: AsyncConnection, keys: Iterable[Key]) -> dict[Key, str]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    query = sa.select(valve_messages.c.valve_id, valve_messages.c.seq, valve_messages.c.digest).where(
        sa.tuple_(valve_messages.c.valve_id, valve_messages.c.seq).in_(wanted))
    return {(r.valve_id, int(r.seq)): r.digest for r in await conn.execute(query)}


async def insert_dead_letters(conn: AsyncConnection, letters: Sequence[DeadLetterRow]) -> None:
    if not letters:
        return
    await conn.execute(sa.insert(dead_letters), [
        {"received_at": d.received_at, "topic": _text(d.topic), "kind": d.kind, "reason": _text(d.reason),
         "valve_id": d.valve_id, "payload": d.payload}
        for d in letters
    ])


def _text(value: str) -> str:
    """Text PostgreSQL can hold (no NUL characters)."""
    return value.replace("\x00", "\\x00")


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


async def dead_letter_rows(
    conn: AsyncConnection, *, limit: int, before: int | None = None, kind: str | None = None,
    valve_id: str | None = None,
) -> list[Any]:
    """Up to ``limit`` dead letters, newest first, below the id ``before``."""
    query = sa.select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(dead_letters.c.id < before)
    if kind is not None:
        query = query.where(dead_letters.c.kind == kind)
    if valve_id is not None:
        query = query.where(dead_letters.c.valve_id == valve_id)
    return list((await conn.execute(query)).all())
