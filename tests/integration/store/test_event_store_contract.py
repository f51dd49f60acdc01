"""One contract for the event store, run against SQLite and PostgreSQL (``db_url`` is parametrized)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cylinder_trace.store import event_store as es
from cylinder_trace.store.db import create_engine
from cylinder_trace.store.event_store import EventIdConflict, PendingEvent, StreamConflict
from cylinder_trace.store.tables import events

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    yield eng
    await eng.dispose()


def pending(n: int = 1, **data: object) -> list[PendingEvent]:
    return [PendingEvent(str(uuid.uuid4()), "Thing", {"i": i, "名": "气瓶", **data}, T0, "test") for i in range(n)]


async def append(engine: AsyncEngine, stream: str, expected: int | None, evs: list[PendingEvent],
                 now: datetime = T0) -> list[es.RecordedEvent]:
    async with engine.begin() as conn:
        return await es.append(conn, stream, expected, evs, now)


async def read(engine: AsyncEngine, stream: str, as_of: datetime | None = None) -> list[es.RecordedEvent]:
    async with engine.connect() as conn:
        return await es.read_stream(conn, stream, as_of=as_of)


async def test_append_assigns_versions_positions_and_a_hash_chain(engine: AsyncEngine) -> None:
    first = await append(engine, "s:1", 0, pending(2))
    second = await append(engine, "s:1", 2, pending(1))
    stream = await read(engine, "s:1")
    assert [e.version for e in stream] == [1, 2, 3]
    assert [e.position for e in stream] == sorted(e.position for e in first + second)
    assert stream[0].prev_hash == "0" * 64
    assert stream[1].prev_hash == stream[0].hash and stream[2].prev_hash == stream[1].hash
    assert es.verify_chain(stream).valid


async def test_wrong_expected_version_is_a_conflict_and_stores_nothing(engine: AsyncEngine) -> None:
    await append(engine, "s:1", 0, pending(1))
    with pytest.raises(StreamConflict) as info:
        await append(engine, "s:1", 0, pending(1))
    assert (info.value.expected, info.value.actual) == (0, 1)
    assert len(await read(engine, "s:1")) == 1


async def test_append_is_atomic_with_the_callers_transaction(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await es.append(conn, "s:1", 0, pending(3), T0)
            await es.append(conn, "s:2", 0, pending(1), T0)
            raise RuntimeError("the handler failed after appending")
    assert await read(engine, "s:1") == [] and await read(engine, "s:2") == []


async def test_a_batch_naming_one_event_id_twice_is_refused(engine: AsyncEngine) -> None:
    evs = pending(1)
    with pytest.raises(EventIdConflict):
        await append(engine, "s:1", 0, [evs[0], PendingEvent(evs[0].event_id, "Other", {}, T0, "test")])
    assert await read(engine, "s:1") == []


async def test_same_event_id_same_content_returns_the_original(engine: AsyncEngine) -> None:
    evs = pending(2)
    original = await append(engine, "s:1", 0, evs)
    again = await append(engine, "s:1", 0, evs, now=T0 + timedelta(hours=1))
    assert again == original
    assert len(await read(engine, "s:1")) == 2


async def test_same_event_id_other_content_is_a_conflict(engine: AsyncEngine) -> None:
    evs = pending(1)
    await append(engine, "s:1", 0, evs)
    changed = [PendingEvent(evs[0].event_id, "Thing", {"i": 99}, T0, "test")]
    with pytest.raises(EventIdConflict):
        await append(engine, "s:1", None, changed)
    with pytest.raises(EventIdConflict):
        await append(engine, "s:2", None, [PendingEvent(evs[0].event_id, "Thing", evs[0].data, T0, "test")])


async def test_read_as_of_a_record_time(engine: AsyncEngine) -> None:
    await append(engine, "s:1", 0, pending(1), now=T0)
    await append(engine, "s:1", 1, pending(1), now=T0 + timedelta(days=1))
    assert len(await read(engine, "s:1", as_of=T0 + timedelta(hours=1))) == 1
    assert len(await read(engine, "s:1", as_of=T0 + timedelta(days=2))) == 2
    assert await read(engine, "s:1", as_of=T0 - timedelta(seconds=1)) == []


async def test_read_all_follows_positions_across_streams(engine: AsyncEngine) -> None:
    await append(engine, "a", 0, pending(2))
    await append(engine, "b", 0, pending(3))
    async with engine.connect() as conn:
        page1 = await es.read_all(conn, 0, limit=4)
        page2 = await es.read_all(conn, page1[-1].position, limit=4)
    assert [e.stream_id for e in page1 + page2] == ["a", "a", "b", "b", "b"]
    positions = [e.position for e in page1 + page2]
    assert positions == sorted(set(positions))


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE events SET data = '{\"i\": 7}' WHERE version = 2",
        "UPDATE events SET occurred_at = occurred_at + interval '1 second' WHERE version = 2",
        "DELETE FROM events WHERE version = 2",
        "UPDATE events SET version = version + 10 WHERE version = 1",
        "UPDATE events SET actor = 'someone else' WHERE version = 3",
    ],
    ids=["edit-data", "edit-time", "delete", "reorder", "edit-actor"],
)
async def test_verify_detects_tampering(engine: AsyncEngine, tamper: str) -> None:
    await append(engine, "s:1", 0, pending(3))
    if engine.dialect.name == "sqlite":
        tamper = tamper.replace("occurred_at + interval '1 second'", "datetime(occurred_at, '+1 second')")
    async with engine.begin() as conn:
        await conn.execute(sa.text(tamper))
    report = es.verify_chain(await read(engine, "s:1"))
    assert not report.valid
    assert report.reason


async def test_hash_follows_the_published_rule(engine: AsyncEngine) -> None:
    """Anyone holding a history can recompute the chain with hashlib and json alone."""
    import hashlib
    import json

    await append(engine, "s:1", 0, pending(2, mass_kg=14.5))
    prev = "0" * 64
    for e in await read(engine, "s:1"):
        body = {k: e.to_json()[k] for k in ("event_id", "stream_id", "version", "type", "occurred_at",
                                            "recorded_at", "actor", "data")}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256((prev + text).encode()).hexdigest() == e.hash
        prev = e.hash


async def test_events_table_keeps_numbers_as_written(engine: AsyncEngine) -> None:
    await append(engine, "s:1", 0, [PendingEvent(str(uuid.uuid4()), "T", {"x": 14.5, "big": 10**17, "f": 1e-07},
                                                 T0, "t")])
    (e,) = await read(engine, "s:1")
    assert e.data == {"x": 14.5, "big": 10**17, "f": 1e-07}
    assert es.verify_chain([e]).valid
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar_one() == 1


async def test_stream_documents_are_the_events_as_the_history_shows_them(engine: AsyncEngine) -> None:
    """The text the history endpoint sends (on PostgreSQL written by the database) reads back as
    :meth:`RecordedEvent.to_json`, value for value, and the chain recomputes from it."""
    import json

    from cylinder_trace.domain.canonical import ZERO_HASH, chain_hash

    odd_time = T0 + timedelta(microseconds=123457, days=400)
    await append(engine, "s:1", 0, [
        PendingEvent(str(uuid.uuid4()), "T", {"x": 14.5, "f": 1e-07, "big": 10**17, "名": "气瓶 \"引号\" \\ /",
                                             "n": None, "nested": {"list": [1, 2.25, True, "\u2028"]}},
                     odd_time, "actor:中"),
        *pending(2),
    ], now=T0 + timedelta(microseconds=1))
    async with engine.connect() as conn:
        document = await es.read_stream_document(conn, "s:1")
        stream = await es.read_stream(conn, "s:1")
        empty = await es.read_stream_document(conn, "s:none")
    assert document.types == {"T", "Thing"}
    parsed = json.loads(document.text)
    assert parsed == [e.to_json() for e in stream]
    assert json.loads(empty.text) == [] and empty.types == frozenset()
    prev = ZERO_HASH
    for event in parsed:
        body = {k: event[k] for k in ("event_id", "stream_id", "version", "type", "occurred_at", "recorded_at",
                                      "actor", "data")}
        assert chain_hash(prev, body) == event["hash"]
        prev = event["hash"]
