"""Fill authorizations: issued after a passing fill check, used by a valve's ``fill_completed``.

:func:`issue_fill_authorization` runs inside the fill check's transaction and stores the authorization
in ``valve_authorizations``. Nothing is published there: the command relay publishes the signed
``authorize_fill`` of every committed row not yet published (:mod:`cylinder_trace.app.valve_commands`),
and marks it published only after the broker acknowledged it, so MQTT stays out of the transaction and a
crash sends the command again rather than losing it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..domain.cylinder import CylinderState
from ..domain.valves import Authorization
from ..mqtt.protocol import format_ts, parse_ts
from ..store.valve_fills import insert_authorization
from .tx import Tx


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
    # as the command carries it: to the millisecond
    expires = parse_ts(format_ts(tx.now + timedelta(minutes=policy.fill_authorization_minutes)))
    max_mass_kg = policy.model(state.model).max_fill_kg
    auth = Authorization(auth_id=str(uuid.uuid4()), valve_id=valve_id, cylinder_code=state.code,
                         station_id=station_id, issued_at=tx.now, expires=expires)
    await insert_authorization(tx.conn, auth, max_mass_kg=max_mass_kg, issued_by=actor)
    return IssuedAuthorization(auth.auth_id, valve_id, format_ts(expires), max_mass_kg)
