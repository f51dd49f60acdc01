"""Stream heads now and as of a position, on SQLite and PostgreSQL: one per stream, in code point order
whatever the database's collation, each the newest event at or before the position."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cylinder_trace.domain.checkpoints import StreamLeaf
from cylinder_trace.store.stream_heads import heads_at, heads_now
from cylinder_trace.store.tables import events

from .test_event_store_contract import append, engine, pending, read

__all__ = ["engine"]  # the fixture, shared with the event store's contract

#: orders that collations disagree on: case, accents, punctuation, CJK
STREAMS = ["cylinder:b", "cylinder:B", "cylinder:é", "cylinder:_x", "cylinder:甲", "cylinder:a-1", "cylinder:a1"]


async def expected_heads(engine: AsyncEngine, position: int) -> list[StreamLeaf]:
    """The reference: every stream's events read one by one, the newest at or before ``position``."""
    heads = []
    for stream in sorted(STREAMS):
        then = [e for e in await read(engine, stream) if e.position <= position]
        if then:
            heads.append(StreamLeaf(stream, then[-1].version, then[-1].hash))
    return heads


async def test_heads_now_and_as_of_every_position(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await heads_now(conn) == (0, [])
    positions = []
    for round_ in range(3):
        for i, stream in enumerate(STREAMS):
            if (i + round_) % 3:
                positions.append((await append(engine, stream, None, pending(1 + i % 2)))[-1].position)
    expected = {p: await expected_heads(engine, p) for p in [0, *positions]}  # before a reader holds SQLite
    async with engine.connect() as conn:
        newest, heads = await heads_now(conn)
        assert newest == max(positions) and heads == expected[newest]
        assert [h.stream_id for h in heads] == sorted(STREAMS, key=lambda s: s.encode())
        for position, then in expected.items():
            assert await heads_at(conn, position) == then, position


async def test_a_version_gone_leaves_the_newest_as_the_head(engine: AsyncEngine) -> None:
    """Only a rewritten database lacks a version; the heads are still one per stream."""
    before = await append(engine, "cylinder:a", None, pending(3))
    await append(engine, "cylinder:b", None, pending(1))
    await append(engine, "cylinder:a", None, pending(1))
    async with engine.begin() as conn:
        await conn.execute(sa.delete(events).where(events.c.stream_id == "cylinder:a", events.c.version == 2))
    async with engine.connect() as conn:
        heads = await heads_at(conn, before[-1].position)
    assert heads == [StreamLeaf("cylinder:a", 3, before[-1].hash)]
