"""Reading cylinder events for EPCIS queries (SimpleEventQuery parameters of API.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.codes import Grai, parse_grai
from ..store.tables import cylinders, events
from .mapping import MAPPED_TYPES, biz_steps_for_query, object_event


@dataclass(frozen=True, slots=True)
class EventQuery:
    codes: list[str] | None = None
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    biz_step: str | None = None
    company_id: str | None = None  # None: every company (regulators)
    after_position: int = 0
    limit: int = 500


async def query_events(conn: AsyncConnection, q: EventQuery, timezone: str) -> tuple[list[dict[str, Any]], int | None]:
    """The matching ObjectEvents in record order, and the position to continue from (None at the end)."""
    types = list(MAPPED_TYPES) if q.biz_step is None else biz_steps_for_query(q.biz_step)
    join = events.join(cylinders, events.c.stream_id == sa.literal("cylinder:") + cylinders.c.code)
    query = (
        sa.select(events, cylinders.c.code, cylinders.c.state["prefix_length"].as_integer().label("prefix_length"))
        .select_from(join)
        .where(events.c.type.in_(types), events.c.position > q.after_position)
        .order_by(events.c.position)
        .limit(q.limit + 1)
    )
    if q.codes is not None:
        query = query.where(cylinders.c.code.in_(q.codes))
    if q.ge_event_time is not None:
        query = query.where(events.c.occurred_at >= q.ge_event_time)
    if q.lt_event_time is not None:
        query = query.where(events.c.occurred_at < q.lt_event_time)
    if q.company_id is not None:
        query = query.where(cylinders.c.company_id == q.company_id)
    rows = (await conn.execute(query)).all()
    page = rows[: q.limit]
    out = []
    for r in page:
        grai: Grai = parse_grai(r.code)
        item = object_event(
            epc=grai.epc_uri(r.prefix_length or 7),
            event_id=r.event_id,
            event_type=r.type,
            data=r.data,
            occurred_at=r.occurred_at,
            recorded_at=r.recorded_at,
            event_hash=r.hash,
            timezone=timezone,
        )
        if item is not None:
            out.append(item)
    next_after = page[-1].position if len(rows) > q.limit else None
    return out, next_after
