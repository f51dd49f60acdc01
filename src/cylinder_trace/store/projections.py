"""Catch-up projections: each follows the global position and stores its checkpoint in the same
transaction as its rows, so it is exactly-once and resumable, and can be rebuilt from zero.

A projection takes events a batch at a time (:meth:`Projection.apply_events`): it reads the rows the
batch touches with one query, folds the events in memory and writes the rows back with one statement
per table. The unit of work hands it the events it has just appended (:func:`advance`), so nothing
this transaction wrote is read back; :func:`catch_up` and :func:`rebuild` page through the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .db import Write, upsert_many
from .event_store import RecordedEvent, pages_after
from .tables import projection_checkpoints


class Projection(Protocol):
    name: str

    @property
    def tables(self) -> Sequence[sa.Table]: ...

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent],
                           known: MutableMapping[str, Any] | None = None) -> None:
        """Bring the rows up to date with ``events`` (consecutive, in position order). ``known``: states the
        caller holds from before ``events`` (cylinder states by code), so the projection need not read them
        back; the projection leaves its new states there."""
        ...

    def writes(self, events: Sequence[RecordedEvent], known: MutableMapping[str, Any]) -> list[Write] | None:
        """The rows ``events`` leave, when the projection can tell them without reading (a batch writes them
        with its events, in one statement); None when it must read first (:meth:`apply_events` runs)."""
        ...


async def checkpoint(conn: AsyncConnection, name: str) -> int:
    row = (
        await conn.execute(
            sa.select(projection_checkpoints.c.position).where(projection_checkpoints.c.name == name)
        )
    ).first()
    return int(row.position) if row else 0


async def checkpoints(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(sa.select(projection_checkpoints.c.name, projection_checkpoints.c.position))
    return {str(r.name): int(r.position) for r in rows}


async def save_checkpoint(conn: AsyncConnection, name: str, position: int) -> None:
    await save_checkpoints(conn, {name: position})


async def save_checkpoints(conn: AsyncConnection, marks: dict[str, int]) -> None:
    await upsert_many(conn, projection_checkpoints, ["name"],
                      [{"name": name, "position": position} for name, position in sorted(marks.items())])


#: how many states catching up keeps between pages (a page touches the cylinders the one before it did)
KNOWN_STATES = 200_000


async def catch_up(conn: AsyncConnection, projections: Sequence[Projection], batch: int = 20_000,
                   progress: Callable[[int], None] | None = None) -> int:
    """Apply every event after each projection's checkpoint; returns how many events were read.

    Runs inside the caller's transaction: the rows and the checkpoint commit together or not at all.
    ``progress(n)`` after every page of ``n`` events.
    """
    if not projections:
        return 0
    marks = await checkpoints(conn)
    at = {p.name: marks.get(p.name, 0) for p in projections}
    read = 0
    known: dict[str, Any] = {}
    async for page in pages_after(conn, min(at.values()), batch):
        if len(known) > KNOWN_STATES:
            known.clear()
        for p in projections:
            fresh = page if page[0].position > at[p.name] else [e for e in page if e.position > at[p.name]]
            if fresh:
                await p.apply_events(conn, fresh, known)
                at[p.name] = fresh[-1].position
        read += len(page)
        if progress is not None:
            progress(len(page))
    await save_checkpoints(conn, at)
    return read


async def bring_up_to(conn: AsyncConnection, projections: Sequence[Projection], newest: int,
                      marks: Mapping[str, int] | None = None) -> None:
    """Catch up, from the store, every projection whose checkpoint is not at ``newest`` (the store's
    newest position): a projection rebuilt or added since the last write. ``marks``: the checkpoints,
    when the caller has read them."""
    marks = await checkpoints(conn) if marks is None else marks
    behind = [p for p in projections if marks.get(p.name, 0) != newest]
    if behind:
        await catch_up(conn, behind)


@dataclass(frozen=True, slots=True)
class Appended:
    """What the events just appended do to the projections: rows to write with them, and the projections
    that must read before they write."""

    writes: list[Write]
    reading: list[Projection]


def plan_appended(projections: Sequence[Projection], appended: Sequence[RecordedEvent],
                  known: MutableMapping[str, Any]) -> Appended:
    """For events just appended (the newest of the store, in position order) to projections that had seen
    everything before them (:func:`bring_up_to`): their rows where they can tell them, and the
    checkpoints."""
    if not appended:
        return Appended([], [])
    writes: list[Write] = []
    reading: list[Projection] = []
    for p in projections:
        rows = p.writes(appended, known)
        if rows is None:
            reading.append(p)
        else:
            writes.extend(rows)
    writes.append(Write(projection_checkpoints, [{"name": p.name, "position": appended[-1].position}
                                                 for p in sorted(projections, key=lambda p: p.name)], ("name",)))
    return Appended(writes, reading)


async def apply_appended(conn: AsyncConnection, plan: Appended, appended: Sequence[RecordedEvent],
                         known: MutableMapping[str, Any]) -> None:
    """The reading part of :func:`plan_appended` (its writes go with the events')."""
    for p in plan.reading:
        await p.apply_events(conn, appended, known)


async def rebuild(conn: AsyncConnection, projections: Sequence[Projection], batch: int = 20_000,
                  progress: Callable[[int], None] | None = None) -> int:
    """Forget everything the projections hold and replay the whole store through them, in one pass of
    pages of ``batch`` events; returns how many events were read."""
    for projection in projections:
        for table in projection.tables:
            await conn.execute(sa.delete(table))
    await save_checkpoints(conn, {p.name: 0 for p in projections})
    return await catch_up(conn, projections, batch=batch, progress=progress)
