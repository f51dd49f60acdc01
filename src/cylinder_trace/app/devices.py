"""Reading the smart valves as operators see them: the registered valves with their device status, and
the dead letters (admin and regulator only). A company reads its own valves, as through
``GET /api/v1/valves/{valve_id}``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..store.tables import registry
from .dead_letters import DeadLetterPage, dead_letter_page
from .device_status import device_status
from .policies import today_and_policy
from .principals import Principal
from .unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class ValvePage:
    items: list[dict[str, Any]]
    #: the valve id to continue after, None on the last page
    next_after: str | None


async def valve_page(conn: AsyncConnection, caller: Principal, *, now: datetime, offline_after: timedelta,
                     company_id: str | None = None, after: str | None = None, limit: int = 50) -> ValvePage:
    """Registered valves in id order, each with its device status (online, battery, last seq, gaps)."""
    company = caller.listed_company(company_id, "valves")
    query = (sa.select(registry.c.id, registry.c.company_id).where(registry.c.kind == "valve")
             .order_by(registry.c.id).limit(limit + 1))
    if company is not None:
        query = query.where(registry.c.company_id == company)
    if after is not None:
        query = query.where(registry.c.id > after)
    rows = (await conn.execute(query)).all()
    shown = rows[:limit]
    items = [{"company_id": r.company_id, **await device_status(conn, r.id, now=now, offline_after=offline_after)}
             for r in shown]
    return ValvePage(items, shown[-1].id if len(rows) > limit else None)


async def valve_status(uow: UnitOfWork, valve_id: str) -> dict[str, Any]:
    """A valve's device status as of now, judged by the policy in force today (``valve_offline_hours``):
    the device fields of ``GET /api/v1/valves/{valve_id}`` (API.md, Devices)."""
    now, _, policy = today_and_policy(uow)
    offline_after = timedelta(hours=policy.valve_offline_hours)

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await device_status(conn, valve_id, now=now, offline_after=offline_after)

    return await uow.read(reader)


async def dead_letters(conn: AsyncConnection, caller: Principal, *, limit: int, before: int | None = None,
                       kind: str | None = None, valve_id: str | None = None) -> DeadLetterPage:
    """What the ingestor could not accept, newest first (admin, regulator)."""
    caller.require("admin", "regulator")
    return await dead_letter_page(conn, limit=limit, before=before, kind=kind, valve_id=valve_id)
