"""The head of every stream as of a global position, in one query (what a checkpoint's tree is built of)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.checkpoints import StreamHead
from .event_store import lock_appends
from .tables import events


async def settled_position(conn: AsyncConnection) -> int:
    """The newest position, read under the append lock: every event up to it has committed, and every
    later append gets a higher position. The lock is held until the caller's transaction ends."""
    await lock_appends(conn)
    return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0)))).scalar_one())


async def heads_at(conn: AsyncConnection, position: int) -> list[StreamHead]:
    """Each stream's newest event among those at or before ``position``, sorted by stream id (code
    points). One pass over the events: an event is a head when the stream has no next version by then
    (a stream with a version missing has two such events: the newest counts)."""
    later = events.alias("later")
    newest = (
        sa.select(events.c.stream_id, events.c.version, events.c.hash)
        .where(events.c.position <= position)
        .where(~sa.exists().where(later.c.stream_id == events.c.stream_id, later.c.version == events.c.version + 1,
                                  later.c.position <= position))
    )
    rows = sorted((await conn.execute(newest)).all(), key=lambda r: (r.stream_id, r.version))
    by_stream = {r.stream_id: StreamHead(r.stream_id, r.version, r.hash) for r in rows}  # the newest wins
    return list(by_stream.values())
