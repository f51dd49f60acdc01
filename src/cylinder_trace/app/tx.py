"""What a handler may touch: its command's view of one batch transaction (``app/batch.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.cylinder import CylinderState, fold_onto
from ..domain.dates import local_day
from ..domain.events import NewEvent, cylinder_stream
from ..domain.policy import Policy, PolicyBook
from ..projections.registry import entry_of
from ..store import event_store
from ..store.event_store import PendingEvent, RecordedEvent, StreamConflict
from .batch import CYLINDER_PREFIX, Batch, Layer, LoggedCommand


def derived_event_id(event_id: str, index: int) -> str:
    """The id of the ``index``-th event a command records (the first keeps the client's id)."""
    return event_id if index == 0 else str(uuid.uuid5(uuid.UUID(event_id), str(index)))


@dataclass(frozen=True, slots=True)
class Outcome:
    """A handler's answer: an HTTP-neutral status and a JSON body."""

    status: int
    body: dict[str, Any]


@dataclass
class Tx:
    """One command inside a batch: it reads the store as the commands before it left it, and stages its
    events (stored when the batch commits). ``conn`` is the batch's connection, for reads and writes of
    its own tables; it never commits."""

    batch: Batch
    policy_book: PolicyBook
    jurisdiction: str
    #: the jurisdiction's time zone: day boundaries (due dates, licences, months) are local days
    timezone: str = "Asia/Shanghai"
    layer: Layer = field(default_factory=Layer)
    #: the version each stream had when this command read it: its appends expect exactly that
    loaded_versions: dict[str, int] = field(default_factory=dict)

    @property
    def conn(self) -> AsyncConnection:
        return self.batch.conn

    @property
    def now(self) -> datetime:
        return self.batch.now

    @property
    def appended(self) -> list[RecordedEvent]:
        return self.layer.events

    def policy(self, day: date | None = None) -> Policy:
        return self.policy_book.at(self.jurisdiction, day or self.today())

    def today(self, moment: datetime | None = None) -> date:
        """The local calendar day of ``moment`` (default: now)."""
        return local_day(moment or self.now, self.timezone)

    async def entry(self, kind: str, entry_id: str) -> dict[str, Any] | None:
        """A registry entry as it is now (a copy), None when there is none."""
        return await self.batch.entry(self.layer, kind, entry_id)

    async def load_stream(self, stream_id: str) -> list[RecordedEvent]:
        history = [*await event_store.read_stream(self.conn, stream_id),
                   *self.batch.staged_events(self.layer, stream_id)]
        self.loaded_versions[stream_id] = history[-1].version if history else 0
        return history

    async def load_cylinder(self, code: str) -> CylinderState | None:
        state = await self.batch.state(self.layer, code)
        head = await self.batch.head(self.layer, cylinder_stream(code))
        self.loaded_versions[cylinder_stream(code)] = head.version
        return state

    def staged_states(self) -> dict[str, CylinderState | None]:
        """Cylinders changed in this transaction so far (by this command or those before it), as they are
        now: what a query of the cylinders projection does not show yet."""
        return self.batch.staged_states(self.layer)

    async def next_serial(self, prefix: str, asset_type: int) -> str:
        return await self.batch.next_serial(prefix, asset_type)

    async def logged(self, event_id: str) -> LoggedCommand | None:
        return await self.batch.logged(self.layer, event_id)

    def log(self, command: LoggedCommand) -> None:
        self.layer.commands[command.event_id] = command

    async def record(
        self, decided: Sequence[NewEvent], *, event_id: str, actor: str, source: str = "api",
    ) -> list[RecordedEvent]:
        """Stage decided events, grouped by stream in order, under ids derived from ``event_id``."""
        recorded: list[RecordedEvent] = []
        by_stream: dict[str, list[PendingEvent]] = {}
        for index, e in enumerate(decided):
            by_stream.setdefault(e.stream_id, []).append(PendingEvent(
                event_id=derived_event_id(event_id, index), type=e.type, data=e.data,
                occurred_at=e.occurred_at, actor=actor, source=source,
            ))
        for stream_id, pending in by_stream.items():
            recorded.extend(await self._stage(stream_id, pending))
        return recorded

    async def _stage(self, stream_id: str, pending: Sequence[PendingEvent]) -> list[RecordedEvent]:
        head = await self.batch.head(self.layer, stream_id)
        expected = self.loaded_versions.get(stream_id)
        if expected is not None and expected != head.version:
            raise StreamConflict(stream_id, expected, head.version)
        staged = event_store.chain(stream_id, head, pending, self.now, position=0)
        if stream_id.startswith(CYLINDER_PREFIX):
            code = stream_id.removeprefix(CYLINDER_PREFIX)
            state = await self.batch.state(self.layer, code)
            self.layer.states[code] = fold_onto(state, ((e.type, e.data, e.version) for e in staged))
        for e in staged:
            entry = entry_of(e)
            if entry is not None:
                self.layer.entries[(entry[0], entry[1])] = entry[2]
        self.layer.heads[stream_id] = event_store.StreamHead(staged[-1].version, staged[-1].hash)
        self.loaded_versions[stream_id] = staged[-1].version
        self.layer.events.extend(staged)
        return staged
