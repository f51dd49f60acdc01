"""Each valve's device status row (``valve_status``), loaded and stored whole.

The rule of how a status changes is :class:`cylinder_trace.domain.valves.DeviceStatus` alone: a batch
loads the rows of the valves it heard from (locked until it commits), the domain merges what they
said, and the batch writes the rows back. Nothing here decides a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.valves import DeviceStatus
from .db import any_of, upsert_many
from .tables import valve_status

_COLUMNS: Final = ("last_seq", "last_seen", "battery_seq", "battery_pct", "rssi_seq", "rssi", "level_seq", "level_pct",
                   "online", "status_changed_at")
_PG_TYPES: Final = ("bigint", "timestamptz", "bigint", "float8", "bigint", "float8", "bigint", "float8", "boolean",
                    "timestamptz")
_PG_SAVE = sa.text(
    f"INSERT INTO valve_status AS s (valve_id, {', '.join(_COLUMNS)}) "
    "SELECT * FROM unnest(CAST(:valve_id AS varchar[]), "
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(_COLUMNS, _PG_TYPES, strict=True))
    + ") ON CONFLICT (valve_id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS)
)


def _status(row: Any) -> DeviceStatus:
    return DeviceStatus(**{c: getattr(row, c) for c in _COLUMNS})


async def lock_statuses(conn: AsyncConnection, valve_ids: Sequence[str]) -> dict[str, DeviceStatus]:
    """The status of each valve (a valve without a row: :class:`DeviceStatus` ``()``), its row locked
    until the transaction ends (PostgreSQL: rows that did not exist are created first, so a concurrent
    transaction waits for them too; SQLite has one writer at a time already)."""
    wanted = sorted(set(valve_ids))
    if not wanted:
        return {}
    postgres = conn.dialect.name == "postgresql"
    query = sa.select(valve_status).where(any_of(conn, valve_status.c.valve_id, wanted)).order_by(
        valve_status.c.valve_id)
    if postgres:
        query = query.with_for_update()
    found = {r.valve_id: _status(r) for r in await conn.execute(query)}
    missing = [v for v in wanted if v not in found]
    if missing and postgres:
        await upsert_many(conn, valve_status, ["valve_id"], [{"valve_id": v} for v in missing])
        found.update({r.valve_id: _status(r) for r in await conn.execute(
            sa.select(valve_status).where(any_of(conn, valve_status.c.valve_id, missing))
            .order_by(valve_status.c.valve_id).with_for_update())})
    return {v: found.get(v, DeviceStatus()) for v in wanted}


async def save_statuses(conn: AsyncConnection, statuses: Mapping[str, DeviceStatus]) -> None:
    """Store each valve's status as given (rows are created when missing)."""
    if not statuses:
        return
    ordered = sorted(statuses.items())
    if conn.dialect.name == "postgresql":
        params: dict[str, list[Any]] = {"valve_id": [v for v, _ in ordered]}
        for column in _COLUMNS:
            params[column] = [getattr(s, column) for _, s in ordered]
        await conn.execute(_PG_SAVE, params)
        return
    await upsert_many(conn, valve_status, ["valve_id"], [
        {"valve_id": v, **{c: getattr(s, c) for c in _COLUMNS}} for v, s in ordered])


async def read_status(conn: AsyncConnection, valve_id: str) -> DeviceStatus:
    row = (await conn.execute(sa.select(valve_status).where(valve_status.c.valve_id == valve_id))).first()
    return _status(row) if row is not None else DeviceStatus()
