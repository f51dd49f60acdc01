"""Rows written together on PostgreSQL come back exactly as given, whichever way they travel: as one JSON
parameter (the usual way) or as an array per column (binary columns, values JSON cannot carry). A JSON
column keeps the text the service wrote for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cylinder_trace.store.db import Write, create_engine, dumps_json, write_together
from cylinder_trace.store.migrate import upgrade
from cylinder_trace.store.tables import cylinders, events, valve_messages

BEIJING = timezone(timedelta(hours=8))
AWKWARD: dict[str, Any] = {
    "名": "大岗子燃气", "quote": 'a "b" \\ c', "tab": "x\ty", "floats": [0.1, 14.5, 1e-3, 123456.789, 0.0, -2.5],
    "ints": [0, -1, 2**53, 2**63 - 1], "nested": {"z": None, "a": [True, False, {"deep": []}]}, "emoji": "🔥",
}


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, pg_url)
    engine = create_engine(pg_url)
    yield engine
    await engine.dispose()


def event_row(position: int, data: dict[str, Any]) -> dict[str, Any]:
    return {"position": position, "stream_id": f"cylinder:{position}", "version": 1, "event_id": f"e-{position}",
            "type": "Thing", "occurred_at": datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=BEIJING),
            "recorded_at": datetime(2026, 11, 28, 2, 0, 1, tzinfo=UTC), "actor": "测试", "source": "api",
            "data": data, "prev_hash": "0" * 64, "hash": f"{position:064d}"}


async def stored_events(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(events, sa.cast(events.c.data, sa.Text).label("text"))
                                   .order_by(events.c.position))).mappings().all()
    return [dict(r) for r in rows]


async def test_rows_as_json_and_as_arrays_come_back_as_given(pg_engine: AsyncEngine) -> None:
    beyond_64_bits = {**AWKWARD, "huge": 2**70}  # JSON through orjson cannot carry it: arrays instead
    given = [event_row(1, AWKWARD), event_row(2, {"i": 2}), event_row(3, beyond_64_bits)]
    async with pg_engine.begin() as conn:
        await write_together(conn, [Write(events, given[:2])])
        await write_together(conn, [Write(events, given[2:])])
    stored = await stored_events(pg_engine)
    for want, got in zip(given, stored, strict=True):
        assert {k: got[k] for k in want} == want
        assert got["text"] == dumps_json(want["data"])  # the JSON column's text as the service wrote it
        assert got["occurred_at"].utcoffset() == timedelta(0)  # the same instant, read back in UTC


async def test_upserts_binary_columns_and_dates_in_one_statement(pg_engine: AsyncEngine) -> None:
    def cylinder(code: str, status: str, version: int) -> dict[str, Any]:
        return {"code": code, "model": "YSP35.5", "status": status, "owner_company_id": "C1",
                "owner_customer_id": None, "company_id": "C1", "smart_valve_id": None,
                "next_inspection_due": date(2027, 5, 1), "life_expires_on": date(2031, 5, 1),
                "state": {"status": status, "名": "气瓶", "tare_kg": 14.7}, "version": version, "head_hash": "h"}

    message = {"valve_id": "V1", "seq": 7, "type": "opened", "ts": datetime(2026, 11, 28, 2, 0, tzinfo=UTC),
               "received_at": datetime(2026, 11, 28, 2, 0, 1, tzinfo=UTC), "digest": "d" * 64,
               "payload": b'{"v":1}\x00\xff'}
    async with pg_engine.begin() as conn:
        await write_together(conn, [Write(cylinders, [cylinder("A", "empty_in_stock", 1), cylinder("B", "seized", 1)],
                                          ("code",))])
        await write_together(conn, [Write(cylinders, [cylinder("A", "full_in_stock", 2)], ("code",)),
                                    Write(valve_messages, [message])])
    async with pg_engine.connect() as conn:
        rows = {r.code: r for r in (await conn.execute(sa.select(cylinders))).all()}
        stored_message = (await conn.execute(sa.select(valve_messages))).mappings().one()
    assert (rows["A"].status, rows["A"].version, rows["A"].state) == ("full_in_stock", 2, cylinder("A", "full_in_stock",
                                                                                                  2)["state"])
    assert (rows["B"].status, rows["B"].next_inspection_due) == ("seized", date(2027, 5, 1))
    assert dict(stored_message) == message
