"""What the valve side reads of the registry, the cylinders projection and the event store: valve
secrets, which cylinder a valve is fitted to, and the events that call for a command to a valve."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .db import any_of
from .tables import cylinders, events, registry, registry_secrets


@dataclass(frozen=True, slots=True)
class SecretRow:
    valve_id: str
    company_id: str | None
    #: as stored: hex text (unchecked)
    secret: str | None


async def valve_secrets(conn: AsyncConnection, valve_ids: Iterable[str]) -> list[SecretRow]:
    """The registered valves among ``valve_ids`` that have a secret."""
    wanted = sorted(set(valve_ids))
    if not wanted:
        return []
    query = sa.select(registry.c.id, registry.c.company_id, registry_secrets.c.value.label("secret")).select_from(
        registry.join(registry_secrets, sa.and_(registry_secrets.c.kind == registry.c.kind,
                                                registry_secrets.c.id == registry.c.id,
                                                registry_secrets.c.field == "secret")),
    ).where(registry.c.kind == "valve", any_of(conn, registry.c.id, wanted))
    return [SecretRow(r.id, r.company_id, r.secret) for r in await conn.execute(query)]


@dataclass(frozen=True, slots=True)
class Fitted:
    """The cylinder a valve is fitted to, as the cylinders projection has it."""

    code: str
    company_id: str | None


async def fitted_cylinders(conn: AsyncConnection, valve_ids: Iterable[str]) -> dict[str, Fitted]:
    """``valve_id`` → the cylinder it is fitted to, for the valves among ``valve_ids`` fitted to one."""
    wanted = sorted(set(valve_ids))
    if not wanted:
        return {}
    query = sa.select(cylinders.c.code, cylinders.c.smart_valve_id, cylinders.c.company_id).where(
        any_of(conn, cylinders.c.smart_valve_id, wanted))
    return {r.smart_valve_id: Fitted(r.code, r.company_id) for r in await conn.execute(query)}


async def cylinder_of_valve(conn: AsyncConnection, valve_id: str) -> str | None:
    """The code of the cylinder ``valve_id`` is fitted to (the first by code, should there be two)."""
    return (await conn.execute(sa.select(cylinders.c.code).where(cylinders.c.smart_valve_id == valve_id)
                               .order_by(cylinders.c.code).limit(1))).scalar()


async def valve_of_cylinder(conn: AsyncConnection, code: str) -> str | None:
    """The valve fitted to the cylinder ``code`` now (None: none, or no such cylinder)."""
    return (await conn.execute(
        sa.select(cylinders.c.smart_valve_id).where(cylinders.c.code == code))).scalar_one_or_none()


async def company_of_cylinder(conn: AsyncConnection, code: str) -> str | None:
    return (await conn.execute(sa.select(cylinders.c.company_id).where(cylinders.c.code == code))).scalar()


async def event_ids_after(conn: AsyncConnection, after: int, types: Sequence[str], limit: int) -> list[str]:
    """The ids of the events of ``types`` after the position ``after``, in position order."""
    return list((await conn.execute(
        sa.select(events.c.event_id).where(events.c.position > after, events.c.type.in_(list(types)))
        .order_by(events.c.position).limit(limit))).scalars().all())
