"""The one place that commits: a command runs in one transaction, with its projections."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..domain.canonical import canonical_bytes
from ..domain.cylinder import CylinderState, fold
from ..domain.dates import local_day
from ..domain.events import NewEvent, cylinder_stream
from ..domain.policy import Policy, PolicyBook
from ..store import event_store
from ..store.event_store import PendingEvent, RecordedEvent, StreamConflict
from ..store.projections import Projection, catch_up
from ..store.tables import command_log
from .errors import Conflict

T = TypeVar("T")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def derived_event_id(event_id: str, index: int) -> str:
    """The id of the ``index``-th event a command records (the first keeps the client's id)."""
    return event_id if index == 0 else str(uuid.uuid5(uuid.UUID(event_id), str(index)))


@dataclass
class Tx:
    """What a handler may touch: one connection inside one transaction, the time, the policy."""

    conn: AsyncConnection
    now: datetime
    policy_book: PolicyBook
    jurisdiction: str
    appended: list[RecordedEvent] = field(default_factory=list)
    #: the version each stream had when this transaction read it: appends expect exactly that
    loaded_versions: dict[str, int] = field(default_factory=dict)
    #: the jurisdiction's time zone: day boundaries (due dates, licences, months) are local days
    timezone: str = "Asia/Shanghai"

    def policy(self, day: Any = None) -> Policy:
        return self.policy_book.at(self.jurisdiction, day or self.today())

    def today(self, moment: datetime | None = None) -> date:
        """The local calendar day of ``moment`` (default: now)."""
        return local_day(moment or self.now, self.timezone)

    async def load_stream(self, stream_id: str) -> list[RecordedEvent]:
        history = await event_store.read_stream(self.conn, stream_id)
        self.loaded_versions[stream_id] = history[-1].version if history else 0
        return history

    async def load_cylinder(self, code: str) -> CylinderState | None:
        history = await self.load_stream(cylinder_stream(code))
        return fold((e.type, e.data, e.version) for e in history)

    async def record(
        self, decided: Sequence[NewEvent], *, event_id: str, actor: str, source: str = "api",
    ) -> list[RecordedEvent]:
        """Append decided events, grouped by stream in order, under ids derived from ``event_id``."""
        recorded: list[RecordedEvent] = []
        by_stream: dict[str, list[PendingEvent]] = {}
        for index, e in enumerate(decided):
            by_stream.setdefault(e.stream_id, []).append(PendingEvent(
                event_id=derived_event_id(event_id, index), type=e.type, data=e.data,
                occurred_at=e.occurred_at, actor=actor, source=source,
            ))
        for stream_id, pending in by_stream.items():
            expected = self.loaded_versions.get(stream_id)
            batch = await event_store.append(self.conn, stream_id, expected, pending, self.now)
            if batch:
                self.loaded_versions[stream_id] = batch[-1].version
            recorded.extend(batch)
        self.appended.extend(recorded)
        return recorded


@dataclass(frozen=True, slots=True)
class Outcome:
    """A handler's answer: an HTTP-neutral status and a JSON body."""

    status: int
    body: dict[str, Any]


class UnitOfWork:
    """Runs handlers in transactions; retries on a lost optimistic-concurrency race."""

    def __init__(
        self,
        engine: AsyncEngine,
        policy_book: PolicyBook,
        jurisdiction: str,
        projections: Sequence[Projection],
        clock: Clock = utc_now,
        retries: int = 5,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self.engine = engine
        self.policy_book = policy_book
        self.jurisdiction = jurisdiction
        self.projections = list(projections)
        self.clock = clock
        self.retries = retries
        self.timezone = timezone
        self._sqlite_writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    async def write(self, handler: Callable[[Tx], Awaitable[T]]) -> T:
        for attempt in range(self.retries + 1):
            try:
                return await self._write_once(handler)
            except (StreamConflict, sa.exc.IntegrityError):
                if attempt == self.retries:
                    raise
        raise AssertionError("unreachable")

    async def _write_once(self, handler: Callable[[Tx], Awaitable[T]]) -> T:
        if self._sqlite_writer is not None:
            async with self._sqlite_writer:
                return await self._transaction(handler)
        return await self._transaction(handler)

    async def _transaction(self, handler: Callable[[Tx], Awaitable[T]]) -> T:
        async with self.engine.begin() as conn:
            tx = Tx(conn, self.clock(), self.policy_book, self.jurisdiction, timezone=self.timezone)
            result = await handler(tx)
            if tx.appended:
                await event_store.lock_appends(conn)
                await catch_up(conn, self.projections)
            return result

    async def read(self, reader: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self.engine.connect() as conn:
            return await reader(conn)

    async def command(
        self, kind: str, event_id: str, body: dict[str, Any], handler: Callable[[Tx], Awaitable[Outcome]]
    ) -> Outcome:
        """Run ``handler`` once per client ``event_id``: a repeat with the same body gets the first
        answer and stores nothing; a repeat with another body is a conflict."""
        return await self.write(lambda tx: run_once(tx, kind, event_id, body, handler))


def command_body_hash(kind: str, body: dict[str, Any]) -> str:
    """What identifies a command's body in the command log (same kind and body: the same command)."""
    return hashlib.sha256(canonical_bytes({"kind": kind, "body": body})).hexdigest()


async def run_once(
    tx: Tx, kind: str, event_id: str, body: dict[str, Any], handler: Callable[[Tx], Awaitable[Outcome]],
    *, unseen: bool = False,
) -> Outcome:
    """Inside ``tx``: the first answer for ``event_id`` if it ran before with this body (a conflict
    with another body), else run ``handler`` and log its answer under ``event_id``. ``unseen``: the
    caller has looked ``event_id`` up in the command log in this transaction and not found it."""
    body_hash = command_body_hash(kind, body)
    row = None if unseen else (await tx.conn.execute(
        sa.select(command_log).where(command_log.c.event_id == event_id))).first()
    if row is not None:
        if row.body_hash != body_hash:
            raise Conflict(f"event_id {event_id} was already used with a different body")
        return Outcome(row.status_code, row.response)
    outcome = await handler(tx)
    await tx.conn.execute(sa.insert(command_log).values(
        event_id=event_id, kind=kind, body_hash=body_hash, status_code=outcome.status,
        response=outcome.body, recorded_at=tx.now,
    ))
    return outcome
