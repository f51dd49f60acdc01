"""Reading what the ingestor keeps: a valve's device status and the dead-letter table."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..store.tables import cylinders, dead_letters
from .store import read_missing, read_status


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def device_status(
    conn: AsyncConnection, valve_id: str, *, now: datetime, offline_after: timedelta
) -> dict[str, Any]:
    """``{valve_id, cylinder_code, online, last_seen, battery_pct, last_seq, missing_seq_ranges, …}``
    (API.md, Devices). A valve never heard from is offline with nothing seen."""
    status = await read_status(conn, valve_id)
    missing = await read_missing(conn, valve_id)
    code = (await conn.execute(sa.select(cylinders.c.code).where(cylinders.c.smart_valve_id == valve_id)
                               .order_by(cylinders.c.code).limit(1))).scalar()
    return {
        "valve_id": valve_id,
        "cylinder_code": code,
        "online": status.is_online(now, offline_after),
        "last_seen": _iso(status.last_seen),
        "battery_pct": status.battery_pct,
        "last_seq": status.last_seq or None,
        "missing_seq_ranges": missing,
        "missing_seq_count": sum(last - first + 1 for first, last in missing),
        "rssi": status.rssi,
        "level_pct": status.level_pct,
        "status_changed_at": _iso(status.status_changed_at),
    }


def payload_view(payload: bytes) -> dict[str, Any]:
    """The raw message as text (UTF-8; a few invalid bytes replaced), or as base64 when it is not text
    (binary, control characters, or mostly undecodable)."""
    text = payload.decode("utf-8", "replace")
    replaced = text.count("\ufffd") - payload.decode("utf-8", "ignore").count("\ufffd")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r")
    if controls == 0 and replaced * 10 <= max(len(text), 1):
        return {"payload": text, "payload_encoding": "utf-8"}
    return {"payload": base64.b64encode(payload).decode("ascii"), "payload_encoding": "base64"}


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    items: list[dict[str, Any]]
    #: the id to continue below, None on the last page
    next_before: int | None


async def dead_letter_page(
    conn: AsyncConnection, *, limit: int, before: int | None = None, kind: str | None = None,
    valve_id: str | None = None,
) -> DeadLetterPage:
    """Newest first; ``before`` is the id the previous page ended at."""
    query = sa.select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(dead_letters.c.id < before)
    if kind is not None:
        query = query.where(dead_letters.c.kind == kind)
    if valve_id is not None:
        query = query.where(dead_letters.c.valve_id == valve_id)
    rows = (await conn.execute(query)).all()
    page = rows[:limit]
    items = [{
        "id": r.id, "received_at": r.received_at.isoformat(), "topic": r.topic, "kind": r.kind,
        "reason": r.reason, "valve_id": r.valve_id, "size": len(r.payload), **payload_view(r.payload),
    } for r in page]
    return DeadLetterPage(items, page[-1].id if len(rows) > limit else None)
