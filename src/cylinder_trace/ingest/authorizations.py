"""Fill authorizations: issued after a passing fill check, used by a valve's ``fill_completed``.

:func:`issue_fill_authorization` runs inside the fill check's transaction and stores the authorization
in ``valve_authorizations``. Nothing is published there: the command relay
(:mod:`cylinder_trace.ingest.commands`) publishes the signed ``authorize_fill`` of every committed row
not yet published, and marks it published only after the broker acknowledged it, so MQTT stays out of
the transaction and a crash sends the command again rather than losing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..app.unit_of_work import Tx
from ..domain.cylinder import CylinderState
from ..domain.valves import Authorization
from ..mqtt.protocol import format_ts, parse_ts
from ..store.tables import valve_authorizations


@dataclass(frozen=True, slots=True)
class IssuedAuthorization:
    auth_id: str
    valve_id: str
    expires: str
    max_mass_kg: float

    def to_json(self) -> dict[str, Any]:
        """What the fill check answers under ``authorization``."""
        return {"auth_id": self.auth_id, "expires": self.expires, "valve_id": self.valve_id,
                "max_mass_kg": self.max_mass_kg}


async def issue_fill_authorization(
    tx: Tx, state: CylinderState, station_id: str, *, actor: str
) -> IssuedAuthorization | None:
    """For a cylinder with a smart valve: authorize one fill at ``station_id`` for
    ``fill_authorization_minutes``, up to the model's maximum fill, on behalf of ``actor`` (kept with the
    authorization). None when no (known) valve is fitted.
    """
    valve_id = state.smart_valve_id
    if valve_id is None or await tx.entry("valve", valve_id) is None:
        return None
    policy = tx.policy()
    auth_id = str(uuid.uuid4())
    # as the command carries it: to the millisecond
    expires = parse_ts(format_ts(tx.now + timedelta(minutes=policy.fill_authorization_minutes)))
    max_mass_kg = policy.model(state.model).max_fill_kg
    await tx.conn.execute(sa.insert(valve_authorizations).values(
        auth_id=auth_id, valve_id=valve_id, cylinder_code=state.code, station_id=station_id,
        max_mass_kg=max_mass_kg, issued_at=tx.now, expires=expires, issued_by=actor,
    ))
    return IssuedAuthorization(auth_id, valve_id, format_ts(expires), max_mass_kg)


def _from_row(row: Mapping[Any, Any]) -> Authorization:
    return Authorization(
        auth_id=row["auth_id"], valve_id=row["valve_id"], cylinder_code=row["cylinder_code"],
        station_id=row["station_id"], issued_at=row["issued_at"], expires=row["expires"],
        started_at=row["started_at"], used_at=row["used_at"], used_seq=row["used_seq"],
    )


async def lock_authorizations(conn: AsyncConnection, auth_ids: Iterable[str]) -> dict[str, Authorization]:
    ids = sorted(set(auth_ids))
    if not ids:
        return {}
    query = sa.select(valve_authorizations).where(valve_authorizations.c.auth_id.in_(ids)).order_by(
        valve_authorizations.c.auth_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.auth_id: _from_row(row._mapping) for row in await conn.execute(query)}


async def save_authorization_use(conn: AsyncConnection, auth: Authorization) -> None:
    await conn.execute(sa.update(valve_authorizations).where(
        valve_authorizations.c.auth_id == auth.auth_id).values(
        started_at=auth.started_at, used_at=auth.used_at, used_seq=auth.used_seq))
