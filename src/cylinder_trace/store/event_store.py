"""The event store: atomic appends with optimistic concurrency, idempotency and a hash chain.

Appends are serialized (a transaction-level advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite)
so positions are handed out in commit order: a reader following ``position`` never skips a row that
commits late. The lock is held until the caller's transaction ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.canonical import ZERO_HASH, canonical_json, chain_hash, format_ts
from .tables import events

#: key of the PostgreSQL advisory lock that serializes appends ('CTEV')
APPEND_LOCK_KEY = 0x43544556


class StreamConflict(Exception):
    """``expected_version`` did not match: someone else appended first."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id} is at version {actual}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class EventIdConflict(Exception):
    """An ``event_id`` that is already stored with different content."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"event_id {event_id} was already used for a different event")
        self.event_id = event_id


@dataclass(frozen=True, slots=True)
class PendingEvent:
    event_id: str
    type: str
    data: dict[str, Any]
    occurred_at: datetime
    actor: str
    source: str = "api"


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    stream_id: str
    version: int
    event_id: str
    type: str
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    source: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def hashed_body(self) -> dict[str, Any]:
        return hashed_body(
            self.event_id,
            self.stream_id,
            self.version,
            self.type,
            self.occurred_at,
            self.recorded_at,
            self.actor,
            self.data,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            **self.hashed_body(),
            "source": self.source,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def hashed_body(
    event_id: str,
    stream_id: str,
    version: int,
    type_: str,
    occurred_at: datetime,
    recorded_at: datetime,
    actor: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "stream_id": stream_id,
        "version": version,
        "type": type_,
        "occurred_at": format_ts(occurred_at),
        "recorded_at": format_ts(recorded_at),
        "actor": actor,
        "data": data,
    }


def _content(stream_id: str, e: PendingEvent | RecordedEvent) -> str:
    return canonical_json([stream_id, e.type, e.data, format_ts(e.occurred_at), e.actor])


def _row_to_event(row: sa.Row[Any]) -> RecordedEvent:
    m = row._mapping
    return RecordedEvent(
        position=m["position"],
        stream_id=m["stream_id"],
        version=m["version"],
        event_id=m["event_id"],
        type=m["type"],
        occurred_at=m["occurred_at"],
        recorded_at=m["recorded_at"],
        actor=m["actor"],
        source=m["source"],
        data=m["data"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


async def lock_appends(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK_KEY})


async def _head_and_seen(conn: AsyncConnection, stream_id: str, ids: list[str]) -> tuple[int, str, bool]:
    """The stream's head and whether any of ``ids`` is stored already, in one round trip."""
    newest = (
        sa.select(events.c.version, events.c.hash)
        .where(events.c.stream_id == stream_id)
        .order_by(events.c.version.desc())
        .limit(1)
        .subquery()
    )
    row = (
        await conn.execute(
            sa.select(
                sa.select(newest.c.version).scalar_subquery().label("version"),
                sa.select(newest.c.hash).scalar_subquery().label("hash"),
                # one id (the common case) as a plain parameter keeps the statement cacheable
                sa.exists()
                .where(events.c.event_id == ids[0] if len(ids) == 1 else events.c.event_id.in_(ids))
                .label("seen"),
            )
        )
    ).one()
    if row.version is None:
        return 0, ZERO_HASH, bool(row.seen)
    return int(row.version), str(row.hash), bool(row.seen)


async def _already_recorded(
    conn: AsyncConnection, stream_id: str, pending: Sequence[PendingEvent]
) -> list[RecordedEvent] | None:
    ids = [p.event_id for p in pending]
    rows = (await conn.execute(sa.select(events).where(events.c.event_id.in_(ids)))).all()
    if not rows:
        return None
    found = {r.event_id: _row_to_event(r) for r in rows}
    for p in pending:
        original = found.get(p.event_id)
        if original is None or _content(original.stream_id, original) != _content(stream_id, p):
            raise EventIdConflict(p.event_id)
    return sorted(found.values(), key=lambda e: e.position)


async def append(
    conn: AsyncConnection,
    stream_id: str,
    expected_version: int | None,
    pending: Sequence[PendingEvent],
    now: datetime,
) -> list[RecordedEvent]:
    """Append ``pending`` to ``stream_id`` atomically, within the caller's transaction.

    ``expected_version`` None means "whatever the stream is at" (used by handlers that just read the
    stream under the same lock). Re-appending the same event ids with the same content returns the
    original events and stores nothing.
    """
    if not pending:
        return []
    ids = [p.event_id for p in pending]
    if len(set(ids)) != len(ids):
        raise EventIdConflict(next(i for i in ids if ids.count(i) > 1))
    await lock_appends(conn)
    version, prev, seen = await _head_and_seen(conn, stream_id, ids)
    if seen:
        duplicate = await _already_recorded(conn, stream_id, pending)
        if duplicate is not None:
            return duplicate
    if expected_version is not None and expected_version != version:
        raise StreamConflict(stream_id, expected_version, version)
    rows: list[dict[str, Any]] = []
    for offset, p in enumerate(pending, start=1):
        body = hashed_body(p.event_id, stream_id, version + offset, p.type, p.occurred_at, now, p.actor, p.data)
        digest = chain_hash(prev, body)
        rows.append(
            {
                "stream_id": stream_id,
                "version": version + offset,
                "event_id": p.event_id,
                "type": p.type,
                "occurred_at": p.occurred_at,
                "recorded_at": now,
                "actor": p.actor,
                "source": p.source,
                "data": p.data,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    try:
        result = await conn.execute(sa.insert(events).returning(*events.c, sort_by_parameter_order=True), rows)
    except sa.exc.IntegrityError as exc:
        if "event_id" in str(exc.orig):
            raise EventIdConflict(next(iter(ids))) from exc
        raise StreamConflict(stream_id, version, version + 1) from exc
    return [_row_to_event(r) for r in result.all()]


async def read_stream(conn: AsyncConnection, stream_id: str, *, as_of: datetime | None = None) -> list[RecordedEvent]:
    query = sa.select(events).where(events.c.stream_id == stream_id)
    if as_of is not None:
        query = query.where(events.c.recorded_at <= as_of)
    rows = (await conn.execute(query.order_by(events.c.version))).all()
    return [_row_to_event(r) for r in rows]


async def read_all(conn: AsyncConnection, after: int, limit: int = 1000) -> list[RecordedEvent]:
    """Events with a position after ``after``, in position order (for catch-up subscriptions)."""
    rows = (
        await conn.execute(sa.select(events).where(events.c.position > after).order_by(events.c.position).limit(limit))
    ).all()
    return [_row_to_event(r) for r in rows]


async def find_event(conn: AsyncConnection, event_id: str) -> RecordedEvent | None:
    row = (await conn.execute(sa.select(events).where(events.c.event_id == event_id))).first()
    return _row_to_event(row) if row else None


@dataclass(frozen=True, slots=True)
class ChainReport:
    valid: bool
    count: int
    head_hash: str
    first_bad_version: int | None = None
    reason: str | None = None


def verify_chain(stream: Sequence[RecordedEvent]) -> ChainReport:
    """Recompute the hash chain: any edited, deleted or reordered event breaks it."""
    prev = ZERO_HASH
    for expected_version, e in enumerate(stream, start=1):
        if e.version != expected_version:
            return ChainReport(False, len(stream), prev, e.version, f"version {expected_version} is missing")
        if e.prev_hash != prev:
            return ChainReport(False, len(stream), prev, e.version, "prev_hash does not match the chain")
        if chain_hash(prev, e.hashed_body()) != e.hash:
            return ChainReport(False, len(stream), prev, e.version, "the event's content does not match its hash")
        prev = e.hash
    return ChainReport(True, len(stream), prev)
