"""Many writers at once on PostgreSQL: a follower never skips a position, one winner per version."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cylinder_trace.store import event_store as es
from cylinder_trace.store.db import create_engine
from cylinder_trace.store.event_store import PendingEvent, StreamConflict

pytestmark = pytest.mark.postgres

WRITERS = 8
EVENTS_PER_WRITER = 500
T0 = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(pg_url, pool_size=WRITERS + 2)
    yield eng
    await eng.dispose()


def one(i: int) -> list[PendingEvent]:
    return [PendingEvent(str(uuid.uuid4()), "Tick", {"i": i}, T0, "w")]


async def test_follower_sees_every_event_exactly_once_in_commit_order(engine: AsyncEngine) -> None:
    total = WRITERS * EVENTS_PER_WRITER
    written: list[str] = []
    done = asyncio.Event()

    async def writer(w: int) -> None:
        for i in range(EVENTS_PER_WRITER):
            async with engine.begin() as conn:
                # streams shared between writers so appends race on versions too
                stream = f"s:{(w + i) % 5}"
                recorded = await es.append(conn, stream, None, one(i), datetime.now(UTC))
                if i % 7 == 0:
                    await asyncio.sleep(0)  # hold the transaction open across a scheduling point
            written.append(recorded[0].event_id)

    seen: list[es.RecordedEvent] = []

    async def follower() -> None:
        cursor = 0
        while True:
            writers_done = done.is_set()  # before the read: an empty page after it means nothing is left
            async with engine.connect() as conn:
                page = await es.read_all(conn, cursor, limit=300)
            if page:
                seen.extend(page)
                cursor = page[-1].position
            elif writers_done:
                return
            else:
                await asyncio.sleep(0.001)

    follow = asyncio.create_task(follower())
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    done.set()
    await follow

    async with engine.connect() as conn:
        final = await es.read_all(conn, 0, limit=total + 10)
    assert len(final) == total
    assert [e.event_id for e in seen] == [e.event_id for e in final], "the follower skipped or repeated"
    assert len({e.event_id for e in seen}) == total == len(set(written))
    for stream in {e.stream_id for e in final}:
        versions = [e.version for e in final if e.stream_id == stream]
        assert sorted(versions) == list(range(1, len(versions) + 1))


async def test_concurrent_appends_to_one_stream_have_one_winner_per_version(engine: AsyncEngine) -> None:
    rounds = 40
    for version in range(rounds):
        async def attempt(w: int, expected: int = version) -> bool:
            try:
                async with engine.begin() as conn:
                    await es.append(conn, "race", expected, one(w), datetime.now(UTC))
                return True
            except StreamConflict:
                return False

        outcomes = await asyncio.gather(*(attempt(w) for w in range(WRITERS)))
        assert outcomes.count(True) == 1, f"version {version + 1}: {outcomes.count(True)} winners"
    async with engine.connect() as conn:
        stream = await es.read_stream(conn, "race")
    assert [e.version for e in stream] == list(range(1, rounds + 1))
    assert es.verify_chain(stream).valid
