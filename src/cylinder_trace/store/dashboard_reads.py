"""The rows the regulator's dashboard judges (``app/dashboard.py``): each query only narrows what to
read, and ``company`` (when given) keeps a company to its own rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import cylinders, events, findings, registry, valve_status


async def states_overdue_or_past_life(conn: AsyncConnection, statuses: Iterable[str], today: date,
                                      company: str | None) -> list[dict[str, Any]]:
    """The stored states of cylinders in ``statuses`` whose inspection or design life ran out before or
    on ``today`` (as their columns say; the rules judge the states)."""
    query = sa.select(cylinders.c.state).where(
        cylinders.c.status.in_(sorted(statuses)),
        sa.or_(cylinders.c.next_inspection_due < today, cylinders.c.life_expires_on <= today))
    if company is not None:
        query = query.where(cylinders.c.company_id == company)
    return [row.state for row in await conn.execute(query)]


async def count_by_status(conn: AsyncConnection, company: str | None) -> dict[str, int]:
    query = sa.select(cylinders.c.status, sa.func.count()).group_by(cylinders.c.status)
    if company is not None:
        query = query.where(cylinders.c.company_id == company)
    return {str(status): int(n) for status, n in await conn.execute(query)}


async def count_findings_by(conn: AsyncConnection, column: str, statuses: Iterable[str], company: str | None
                            ) -> list[tuple[str | None, int]]:
    """Findings in ``statuses`` counted by ``column`` (``rule`` or ``company_id``)."""
    key = findings.c[column]
    query = sa.select(key, sa.func.count()).where(findings.c.status.in_(sorted(statuses))).group_by(key)
    if company is not None:
        query = query.where(findings.c.company_id == company)
    return [(r[0], int(r[1])) for r in await conn.execute(query)]


async def valve_presence_rows(conn: AsyncConnection, company: str | None) -> list[tuple[bool | None, datetime | None]]:
    """``(online, last_seen)`` of every registered valve (both None for a valve never heard)."""
    query = (sa.select(valve_status.c.online, valve_status.c.last_seen)
             .select_from(registry.outerjoin(valve_status, valve_status.c.valve_id == registry.c.id))
             .where(registry.c.kind == "valve"))
    if company is not None:
        query = query.where(registry.c.company_id == company)
    return [(row.online, row.last_seen) for row in await conn.execute(query)]


async def events_of_type_suffix(conn: AsyncConnection, suffix: str, recorded_since: datetime
                                ) -> list[tuple[datetime, dict[str, Any]]]:
    """``(recorded_at, data)`` of the events whose type ends in ``suffix``, recorded since then."""
    query = sa.select(events.c.recorded_at, events.c.data).where(
        events.c.type.like(f"%{suffix}"), events.c.recorded_at >= recorded_since)
    return [(row.recorded_at, row.data) for row in await conn.execute(query)]


async def cylinder_event_times(conn: AsyncConnection, event_type: str, since: datetime, until: datetime,
                               company: str | None) -> list[datetime]:
    """When each cylinder event of ``event_type`` happened between ``since`` and ``until`` (``company``:
    of its cylinders only)."""
    query = sa.select(events.c.occurred_at).where(
        events.c.type == event_type, events.c.occurred_at >= since, events.c.occurred_at <= until)
    if company is not None:
        query = query.select_from(events.join(
            cylinders, events.c.stream_id == sa.literal("cylinder:").concat(cylinders.c.code))
        ).where(cylinders.c.company_id == company)
    return [row.occurred_at for row in await conn.execute(query)]
