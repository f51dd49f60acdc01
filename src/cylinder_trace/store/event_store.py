"""The event store: atomic appends with optimistic concurrency, idempotency and a hash chain.

Appends are serialized (a transaction-level advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite)
so positions are handed out in commit order: a reader following ``position`` never skips a row that
commits late. The lock is held until the caller's transaction ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.canonical import ZERO_HASH, canonical_json, chain_hash, format_ts
from ..domain.chain import ChainLink, ChainReport, check_chain
from .db import Write, any_of, write_together
from .tables import events, projection_checkpoints, streams

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


class RecordedEvent(NamedTuple):
    """An event as stored. (A named tuple: catching up makes a million of them from database rows, and a
    tuple is built from a row several times faster than a frozen dataclass.)"""

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
    """An ``events`` row as a :class:`RecordedEvent` (the table's columns are the event's fields, in order)."""
    return RecordedEvent._make(row)


async def lock_appends(conn: AsyncConnection) -> None:
    """Serialize appends until the transaction ends (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already does)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK, {"k": APPEND_LOCK_KEY})


_LOCK = sa.text("SELECT pg_advisory_xact_lock(:k)")
_NEXT_POSITION = sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0) + 1)


_TAKE_APPEND_LOCK = sa.text("SELECT next_position, checkpoints FROM ct_take_append_lock(:k)")


async def take_append_lock(conn: AsyncConnection) -> tuple[int, dict[str, int]]:
    """:func:`lock_appends`, then the next position and every projection's checkpoint, read after the lock
    was granted: on PostgreSQL one round trip (a PL/pgSQL function, whose statements each take a new
    snapshot; migration 0011)."""
    if conn.dialect.name == "postgresql":
        row = (await conn.execute(_TAKE_APPEND_LOCK, {"k": APPEND_LOCK_KEY})).one()
        return int(row.next_position), {str(k): int(v) for k, v in row.checkpoints.items()}
    await lock_appends(conn)
    marks = await conn.execute(sa.select(projection_checkpoints.c.name, projection_checkpoints.c.position))
    return await next_position(conn), {str(r.name): int(r.position) for r in marks}


async def next_position(conn: AsyncConnection) -> int:
    """The position the next appended event gets: one past the newest. Read under :func:`lock_appends`,
    positions are handed out without gaps and in commit order."""
    return int((await conn.execute(_NEXT_POSITION)).scalar_one())


@dataclass(frozen=True, slots=True)
class StreamHead:
    """Where a stream ends: its version and the hash of its newest event."""

    version: int
    hash: str


EMPTY_HEAD: Final = StreamHead(0, ZERO_HASH)


async def read_heads(conn: AsyncConnection, stream_ids: Iterable[str]) -> dict[str, StreamHead]:
    """The head of every stream named that has events (one query)."""
    wanted = sorted(set(stream_ids))
    if not wanted:
        return {}
    query = sa.select(streams.c.stream_id, streams.c.version, streams.c.head_hash).where(
        any_of(conn, streams.c.stream_id, wanted))
    return {r.stream_id: StreamHead(int(r.version), str(r.head_hash)) for r in await conn.execute(query)}


def chain(stream_id: str, head: StreamHead, pending: Sequence[PendingEvent], now: datetime,
          position: int) -> list[RecordedEvent]:
    """``pending`` as the events that follow ``head``: versions, positions from ``position`` on, and the
    hash chain. Pure: nothing is stored."""
    recorded: list[RecordedEvent] = []
    prev = head.hash
    for offset, p in enumerate(pending):
        version = head.version + offset + 1
        body = hashed_body(p.event_id, stream_id, version, p.type, p.occurred_at, now, p.actor, p.data)
        digest = chain_hash(prev, body)
        recorded.append(RecordedEvent(
            position=position + offset, stream_id=stream_id, version=version,
            event_id=p.event_id, type=p.type, occurred_at=p.occurred_at, recorded_at=now, actor=p.actor,
            source=p.source, data=p.data, prev_hash=prev, hash=digest,
        ))
        prev = digest
    return recorded


def _row(e: RecordedEvent) -> dict[str, Any]:
    return {
        "position": e.position, "stream_id": e.stream_id, "version": e.version, "event_id": e.event_id,
        "type": e.type, "occurred_at": e.occurred_at, "recorded_at": e.recorded_at, "actor": e.actor,
        "source": e.source, "data": e.data, "prev_hash": e.prev_hash, "hash": e.hash,
    }


def event_writes(recorded: Sequence[RecordedEvent]) -> list[Write]:
    """The rows appending ``recorded`` writes (already chained and numbered, under :func:`lock_appends`): the
    events, and their streams' new heads."""
    if not recorded:
        return []
    heads: dict[str, RecordedEvent] = {}
    for e in recorded:
        heads[e.stream_id] = e
    return [Write(events, [_row(e) for e in recorded]),
            Write(streams, [{"stream_id": e.stream_id, "version": e.version, "head_hash": e.hash}
                            for e in heads.values()], ("stream_id",))]


async def write_events(conn: AsyncConnection, recorded: Sequence[RecordedEvent], *also: Write) -> None:
    """Insert events already chained and numbered (under :func:`lock_appends`), move their streams' heads,
    and write ``also`` with them — one statement on PostgreSQL. A repeated ``event_id`` or
    ``(stream_id, version)`` raises :class:`EventIdConflict` / :class:`StreamConflict` and leaves the
    transaction to be rolled back."""
    try:
        await write_together(conn, [*event_writes(recorded), *also])
    except sa.exc.IntegrityError as exc:
        if not recorded or "events" not in str(exc.orig):
            raise
        if "event_id" in str(exc.orig):
            raise EventIdConflict(recorded[0].event_id) from exc
        first = recorded[0]
        raise StreamConflict(first.stream_id, first.version - 1, first.version) from exc


async def _already_recorded(
    conn: AsyncConnection, stream_id: str, pending: Sequence[PendingEvent]
) -> list[RecordedEvent] | None:
    """The events stored under ``pending``'s ids, when they are the same events; None when none is
    stored; :class:`EventIdConflict` when an id was used for something else."""
    ids = [p.event_id for p in pending]
    rows = (await conn.execute(sa.select(events).where(any_of(conn, events.c.event_id, ids)))).all()
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

    ``expected_version`` None means "whatever the stream is at". Re-appending the same event ids with
    the same content returns the original events and stores nothing. (Commands go through the unit of
    work, which appends many commands' events at once with the same steps: lock, heads, chain, write.)
    """
    if not pending:
        return []
    ids = [p.event_id for p in pending]
    if len(set(ids)) != len(ids):
        raise EventIdConflict(next(i for i in ids if ids.count(i) > 1))
    await lock_appends(conn)
    duplicate = await _already_recorded(conn, stream_id, pending)
    if duplicate is not None:
        return duplicate
    head = (await read_heads(conn, [stream_id])).get(stream_id, EMPTY_HEAD)
    if expected_version is not None and expected_version != head.version:
        raise StreamConflict(stream_id, expected_version, head.version)
    recorded = chain(stream_id, head, pending, now, await next_position(conn))
    await write_events(conn, recorded)
    return recorded


async def read_stream(conn: AsyncConnection, stream_id: str, *, as_of: datetime | None = None) -> list[RecordedEvent]:
    query = sa.select(events).where(events.c.stream_id == stream_id)
    if as_of is not None:
        query = query.where(events.c.recorded_at <= as_of)
    rows = (await conn.execute(query.order_by(events.c.version))).all()
    return [_row_to_event(r) for r in rows]


#: PostgreSQL writes each event as the history shows it: timestamps as :func:`format_ts` writes them, the
#: stored JSON of ``data`` as it is, strings quoted by ``to_json`` (plain concatenation is cheaper for the
#: database than building JSON objects)
_UTC_TS = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
_PG_DOCUMENT = (
    "'{\"position\":' || position || ',\"event_id\":' || to_json(event_id) "
    "|| ',\"stream_id\":' || to_json(stream_id) || ',\"version\":' || version "
    "|| ',\"type\":' || to_json(type) "
    f"|| ',\"occurred_at\":\"' || {_UTC_TS.format('occurred_at')} "
    f"|| '\",\"recorded_at\":\"' || {_UTC_TS.format('recorded_at')} "
    "|| '\",\"actor\":' || to_json(actor) || ',\"data\":' || data::text || ',\"source\":' || to_json(source) "
    "|| ',\"prev_hash\":\"' || prev_hash || '\",\"hash\":\"' || hash || '\"}'"
)
#: the whole stream as one JSON array text, and the types in it (one row, whatever the stream's length)
_PG_DOCUMENTS = sa.text(
    f"SELECT COALESCE('[' || string_agg({_PG_DOCUMENT}, ',' ORDER BY version) || ']', '[]') AS docs, "
    "array_agg(DISTINCT type) AS types FROM events WHERE stream_id = :stream_id"
)


@dataclass(frozen=True, slots=True)
class StreamDocument:
    """A stream's events as a JSON array text, and the event types it holds."""

    text: str
    types: frozenset[str]


async def read_stream_document(conn: AsyncConnection, stream_id: str) -> StreamDocument:
    """A stream's events as the history shows them (:meth:`RecordedEvent.to_json`), as one JSON array text:
    on PostgreSQL written by the database from the stored JSON in one query and one row (nothing is
    decoded and encoded again here); elsewhere encoded here."""
    if conn.dialect.name == "postgresql":
        row = (await conn.execute(_PG_DOCUMENTS, {"stream_id": stream_id})).one()
        return StreamDocument(row.docs, frozenset(row.types or ()))
    stream = await read_stream(conn, stream_id)
    return StreamDocument(canonical_json([e.to_json() for e in stream]), frozenset(e.type for e in stream))


async def read_all(conn: AsyncConnection, after: int, limit: int = 1000) -> list[RecordedEvent]:
    """Events with a position after ``after``, in position order (for catch-up subscriptions)."""
    rows = (
        await conn.execute(sa.select(events).where(events.c.position > after).order_by(events.c.position).limit(limit))
    ).all()
    return [_row_to_event(r) for r in rows]


_PG_ALL_AFTER = (
    "SELECT position, stream_id, version, event_id, type, occurred_at, recorded_at, actor, source, data, prev_hash, "
    "hash FROM events WHERE position > $1 ORDER BY position"
)


async def pages_after(conn: AsyncConnection, after: int, page: int = 5000) -> AsyncIterator[list[RecordedEvent]]:
    """Every event after ``after`` in position order, a page at a time (for catching up and rebuilding).
    On PostgreSQL one server-side cursor inside the caller's transaction, read straight from the driver."""
    if conn.dialect.name != "postgresql" or not conn.in_transaction():
        while events_page := await read_all(conn, after, page):
            yield events_page
            after = events_page[-1].position
        return
    raw: Any = (await conn.get_raw_connection()).driver_connection
    cursor = await raw.cursor(_PG_ALL_AFTER, after)
    while rows := await cursor.fetch(page):
        yield [RecordedEvent._make(r) for r in rows]


async def find_event(conn: AsyncConnection, event_id: str) -> RecordedEvent | None:
    row = (await conn.execute(sa.select(events).where(events.c.event_id == event_id))).first()
    return _row_to_event(row) if row else None


def verify_chain(stream: Sequence[RecordedEvent]) -> ChainReport:
    """Recompute the hash chain: any edited, deleted or reordered event breaks it."""
    return check_chain([ChainLink(e.version, e.prev_hash, e.hash, e.hashed_body()) for e in stream])
