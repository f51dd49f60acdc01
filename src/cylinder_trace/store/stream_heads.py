"""The head of every stream, now or as of a global position, each in one statement (one snapshot): what
a checkpoint's tree is built of.

The ``streams`` table holds each stream's head, moved in the same transaction as its events; positions
are handed out under the append lock in commit order, so the heads a statement sees are exactly those of
the events up to the newest position it sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.checkpoints import StreamLeaf
from .tables import events, streams

_NEWEST = sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0).label("position")).subquery("newest")
#: the newest position beside every stream's head (one row with no stream when there is none)
_HEADS_NOW = (
    sa.select(_NEWEST.c.position, streams.c.stream_id, streams.c.version, streams.c.head_hash)
    .select_from(_NEWEST.outerjoin(streams, sa.true()))
    .order_by(streams.c.stream_id)
)


async def heads_now(conn: AsyncConnection) -> tuple[int, list[StreamLeaf]]:
    """The newest position and the head of every stream then, sorted by stream id in code point order."""
    rows = (await conn.execute(_HEADS_NOW)).all()
    heads = [StreamLeaf(r.stream_id, r.version, r.head_hash) for r in rows if r.stream_id is not None]
    return int(rows[0].position), _in_code_point_order(heads)


def _heads_from_events(dialect: str, position: int, wanted: sa.Select[str]) -> sa.Select[str, int, str]:
    """For the streams in ``wanted``: their newest event at or before ``position``."""
    columns = sa.select(events.c.stream_id, events.c.version, events.c.hash).where(
        events.c.position <= position, events.c.stream_id.in_(wanted))
    if dialect == "postgresql":  # a walk of the (stream_id, version) index
        newest = columns.ext(distinct_on(events.c.stream_id)).order_by(events.c.stream_id, events.c.version.desc())
        return sa.select(newest.subquery())
    later = events.alias("later")  # elsewhere: an event is a head when its stream has no next version by then
    return columns.where(~sa.exists().where(
        later.c.stream_id == events.c.stream_id, later.c.version == events.c.version + 1,
        later.c.position <= position))


async def heads_at(conn: AsyncConnection, position: int) -> list[StreamLeaf]:
    """The head of every stream as of ``position``, sorted by stream id in code point order: the
    ``streams`` table for the streams no event after ``position`` touched, the events for the rest."""
    moved = sa.select(events.c.stream_id).where(events.c.position > position)
    still = sa.select(streams.c.stream_id, streams.c.version, streams.c.head_hash).where(
        streams.c.stream_id.not_in(moved))
    query: sa.CompoundSelect[str, int, str] = sa.union_all(still, _heads_from_events(conn.dialect.name, position,
                                                                                     moved))
    rows: Sequence[sa.Row[str, int, str]] = (await conn.execute(query)).all()
    return _in_code_point_order([StreamLeaf(str(r[0]), int(r[1]), str(r[2])) for r in rows])


def _in_code_point_order(heads: list[StreamLeaf]) -> list[StreamLeaf]:
    """Sorted by stream id in code point order, whatever the database's collation (one linear pass when it
    agrees), one per stream: where a stream has a version missing, its newest."""
    heads.sort(key=attrgetter("stream_id"))
    newest: list[StreamLeaf] = []
    for head in heads:
        if newest and newest[-1].stream_id == head.stream_id:
            if head.version > newest[-1].version:
                newest[-1] = head
        else:
            newest.append(head)
    return newest
