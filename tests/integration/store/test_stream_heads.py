"""Stream heads as of a position, on SQLite and PostgreSQL: one per stream, in code point order whatever
the database's collation, the newest at or before the position."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cylinder_trace.domain.checkpoints import StreamHead
from cylinder_trace.store.stream_heads import heads_at, settled_position
from cylinder_trace.store.tables import events

from .test_event_store_contract import append, engine, pending, read

__all__ = ["engine"]  # the fixture, shared with the event store's contract

#: orders that collations disagree on: case, accents, punctuation, CJK
STREAMS = ["cylinder:b", "cylinder:B", "cylinder:é", "cylinder:_x", "cylinder:甲", "cylinder:a-1", "cylinder:a1"]


async def test_one_head_per_stream_in_code_point_order(engine: AsyncEngine) -> None:
    for i, stream in enumerate(STREAMS):
        await append(engine, stream, None, pending(1 + i % 3))
    async with engine.begin() as conn:
        position = await settled_position(conn)
    async with engine.connect() as conn:
        heads = await heads_at(conn, position)
    expected = []
    for stream in sorted(STREAMS):
        newest = (await read(engine, stream))[-1]
        expected.append(StreamHead(stream, newest.version, newest.hash))
    assert heads == expected and [h.stream_id for h in heads] == sorted(STREAMS, key=lambda s: s.encode())


async def test_heads_as_of_an_earlier_position_and_with_a_version_gone(engine: AsyncEngine) -> None:
    first = await append(engine, "cylinder:a", None, pending(2))
    await append(engine, "cylinder:b", None, pending(1))
    later = await append(engine, "cylinder:a", None, pending(2))
    async with engine.connect() as conn:
        assert await heads_at(conn, first[-1].position) == [StreamHead("cylinder:a", 2, first[-1].hash)]
        assert [h.version for h in await heads_at(conn, later[-1].position)] == [4, 1]
        assert await heads_at(conn, 0) == []
    async with engine.begin() as conn:  # a deleted middle event leaves two "last" events: the newest counts
        await conn.execute(sa.delete(events).where(events.c.stream_id == "cylinder:a", events.c.version == 3))
    async with engine.connect() as conn:
        assert (await heads_at(conn, later[-1].position))[0] == StreamHead("cylinder:a", 4, later[-1].hash)
