"""Fills seen from both ends: the ``authorize_fill`` issued to valves (``valve_authorizations``, also the
command relay's outbox) and the station fills recorded in the event store they are matched against."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events as ev
from ..domain.valves import Authorization
from .db import any_of
from .tables import events, valve_authorizations

_STATION_FILL_TYPES = (ev.CYLINDER_FILLED, ev.refusal_type("fill"))


# --- authorizations ----------------------------------------------------------------------------------


async def insert_authorization(conn: AsyncConnection, auth: Authorization, *, max_mass_kg: float,
                               issued_by: str) -> None:
    await conn.execute(sa.insert(valve_authorizations).values(
        auth_id=auth.auth_id, valve_id=auth.valve_id, cylinder_code=auth.cylinder_code, station_id=auth.station_id,
        max_mass_kg=max_mass_kg, issued_at=auth.issued_at, expires=auth.expires, issued_by=issued_by,
    ))


def _authorization(row: Any) -> Authorization:
    return Authorization(
        auth_id=row.auth_id, valve_id=row.valve_id, cylinder_code=row.cylinder_code, station_id=row.station_id,
        issued_at=row.issued_at, expires=row.expires, started_at=row.started_at, used_at=row.used_at,
        used_seq=row.used_seq,
    )


async def lock_authorizations(conn: AsyncConnection, auth_ids: Iterable[str]) -> dict[str, Authorization]:
    """The authorizations named (those that exist), locked until the transaction ends."""
    ids = sorted(set(auth_ids))
    if not ids:
        return {}
    query = sa.select(valve_authorizations).where(any_of(conn, valve_authorizations.c.auth_id, ids)).order_by(
        valve_authorizations.c.auth_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.auth_id: _authorization(row) for row in await conn.execute(query)}


_SAVE_USE = (sa.update(valve_authorizations)
             .where(valve_authorizations.c.auth_id == sa.bindparam("b_auth_id"))
             .values(started_at=sa.bindparam("b_started_at"), used_at=sa.bindparam("b_used_at"),
                     used_seq=sa.bindparam("b_used_seq")))


async def save_authorization_uses(conn: AsyncConnection, auths: Sequence[Authorization]) -> None:
    """Store when each fill under these authorizations began and which message used it (one statement)."""
    if not auths:
        return
    await conn.execute(_SAVE_USE, [
        {"b_auth_id": a.auth_id, "b_started_at": a.started_at, "b_used_at": a.used_at, "b_used_seq": a.used_seq}
        for a in sorted(auths, key=lambda a: a.auth_id)])


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """An authorization whose ``authorize_fill`` is still to be published."""

    auth_id: str
    valve_id: str
    station_id: str
    max_mass_kg: float
    expires: datetime


async def unpublished_authorizations(conn: AsyncConnection, now: datetime, limit: int) -> list[PendingAuthorization]:
    """Not yet published and not yet expired, oldest first."""
    t = valve_authorizations.c
    rows = await conn.execute(sa.select(t.auth_id, t.valve_id, t.station_id, t.max_mass_kg, t.expires)
                              .where(t.published_at.is_(None), t.expires > now).order_by(t.issued_at).limit(limit))
    return [PendingAuthorization(r.auth_id, r.valve_id, r.station_id, r.max_mass_kg, r.expires) for r in rows]


async def mark_published(conn: AsyncConnection, auth_ids: Sequence[str], at: datetime) -> None:
    await conn.execute(sa.update(valve_authorizations).where(
        any_of(conn, valve_authorizations.c.auth_id, sorted(auth_ids))).values(published_at=at))


async def used_unchecked(conn: AsyncConnection, used_before: datetime, limit: int) -> list[Authorization]:
    """Authorizations a fill used before ``used_before`` that the window check has not looked at,
    locked (PostgreSQL: those another transaction holds are skipped)."""
    t = valve_authorizations.c
    query = (sa.select(valve_authorizations)
             .where(t.used_seq.is_not(None), t.window_checked_at.is_(None), t.used_at <= used_before)
             .order_by(t.auth_id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_authorization(r) for r in await conn.execute(query)]


async def mark_window_checked(conn: AsyncConnection, auth_id: str, at: datetime) -> None:
    await conn.execute(sa.update(valve_authorizations).where(
        valve_authorizations.c.auth_id == auth_id).values(window_checked_at=at))


# --- station fills -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StationFill:
    position: int
    event_id: str
    stream_id: str
    version: int
    occurred_at: datetime


async def station_fills_after(conn: AsyncConnection, after: int, limit: int) -> list[StationFill]:
    """``CylinderFilled`` events after the position ``after``, in position order."""
    e = events.c
    rows = await conn.execute(sa.select(e.position, e.event_id, e.stream_id, e.version, e.occurred_at)
                              .where(e.position > after, e.type == ev.CYLINDER_FILLED).order_by(e.position)
                              .limit(limit))
    return [StationFill(r.position, r.event_id, r.stream_id, r.version, r.occurred_at) for r in rows]


async def station_fill_between(conn: AsyncConnection, stream_id: str, lo: datetime, hi: datetime) -> bool:
    """Whether the stream has a station fill record (``CylinderFilled`` or a refused fill) in ``[lo, hi]``."""
    e = events.c
    found = (await conn.execute(sa.select(e.position).where(
        e.stream_id == stream_id, e.type.in_(_STATION_FILL_TYPES), e.occurred_at >= lo, e.occurred_at <= hi)
        .limit(1))).first()
    return found is not None

