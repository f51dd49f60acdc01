"""Catch-up projections: each follows the global position and stores its checkpoint in the same
transaction as its rows, so it is exactly-once and resumable, and can be rebuilt from zero."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .db import upsert
from .event_store import RecordedEvent, read_all
from .tables import projection_checkpoints


class Projection(Protocol):
    name: str

    @property
    def tables(self) -> Sequence[sa.Table]: ...

    async def apply(self, conn: AsyncConnection, event: RecordedEvent) -> None: ...


async def checkpoint(conn: AsyncConnection, name: str) -> int:
    row = (
        await conn.execute(
            sa.select(projection_checkpoints.c.position).where(projection_checkpoints.c.name == name)
        )
    ).first()
    return int(row.position) if row else 0


async def save_checkpoint(conn: AsyncConnection, name: str, position: int) -> None:
    await upsert(conn, projection_checkpoints, ["name"], {"name": name, "position": position})


async def catch_up(conn: AsyncConnection, projections: Sequence[Projection], batch: int = 1000) -> int:
    """Apply every event after each projection's checkpoint; returns how many applications ran.

    Runs inside the caller's transaction: the rows and the checkpoint commit together or not at all.
    """
    if not projections:
        return 0
    marks = {p.name: await checkpoint(conn, p.name) for p in projections}
    applied = 0
    cursor = min(marks.values())
    while True:
        page = await read_all(conn, cursor, batch)
        if not page:
            break
        for event in page:
            for p in projections:
                if event.position > marks[p.name]:
                    await p.apply(conn, event)
                    marks[p.name] = event.position
                    applied += 1
        cursor = page[-1].position
    for p in projections:
        await save_checkpoint(conn, p.name, marks[p.name])
    return applied


async def rebuild(conn: AsyncConnection, projection: Projection) -> int:
    """Forget everything the projection holds and replay the whole store through it."""
    for table in projection.tables:
        await conn.execute(sa.delete(table))
    await save_checkpoint(conn, projection.name, 0)
    return await catch_up(conn, [projection])
