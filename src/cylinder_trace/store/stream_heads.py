"""The head of every stream as of a global position, in one query (what a checkpoint's tree is built of)."""

from __future__ import annotations

from operator import attrgetter

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.checkpoints import StreamHead
from .event_store import lock_appends
from .tables import events


async def settled_position(conn: AsyncConnection) -> int:
    """The newest position, read under the append lock: every event up to it has committed, and every
    later append gets a higher position. The lock is held until the caller's transaction ends."""
    await lock_appends(conn)
    return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0)))).scalar_one())


def _heads_query(dialect: str, position: int) -> sa.Select[str, int, str]:
    columns = sa.select(events.c.stream_id, events.c.version, events.c.hash).where(events.c.position <= position)
    if dialect == "postgresql":  # one walk of the (stream_id, version) index
        return columns.ext(distinct_on(events.c.stream_id)).order_by(events.c.stream_id, events.c.version.desc())
    later = events.alias("later")  # elsewhere: an event is a head when its stream has no next version by then
    return columns.where(~sa.exists().where(
        later.c.stream_id == events.c.stream_id, later.c.version == events.c.version + 1,
        later.c.position <= position)).order_by(events.c.stream_id, events.c.version)


async def heads_at(conn: AsyncConnection, position: int) -> list[StreamHead]:
    """Each stream's newest event among those at or before ``position``, sorted by stream id in code
    point order (a stream with a version missing keeps its newest)."""
    rows = await conn.execute(_heads_query(conn.dialect.name, position))
    heads = [StreamHead(stream_id, version, digest) for stream_id, version, digest in rows]
    # the database's collation may order otherwise; sorting what is already in order is one linear pass
    heads.sort(key=attrgetter("stream_id"))
    newest: list[StreamHead] = []
    for head in heads:
        if newest and newest[-1].stream_id == head.stream_id:
            if head.version > newest[-1].version:
                newest[-1] = head
        else:
            newest.append(head)
    return newest
