"""The fill window check: a station fill and the valve's ``fill_completed`` must meet within
``fill_confirm_window_minutes`` (policy; 30 by default) of each other.

* ``VALVE_FILL_UNCONFIRMED`` (warn): the station recorded a fill (``CylinderFilled``) of a cylinder that
  had a smart valve, and the valve reported no ``fill_completed`` within the window;
* ``VALVE_FILL_UNRECORDED`` (high): the valve reported a fill under a valid authorization, and the
  station recorded no fill (``CylinderFilled`` or ``FillRefused``) within the window.

:func:`check_fill_windows` runs inside the caller's transaction (the scheduler in ``serve``), judges
only what is due (the window has closed), and appends one ``ValveFillUnmatched`` event per finding to
the cylinder's stream under an id derived from its evidence, so running it twice, or from two places at
once, records each finding once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from ..domain.cylinder import fold
from ..domain.events import NewEvent, cylinder_stream
from ..domain.rules.valves import fill_unconfirmed, fill_unrecorded
from ..domain.valves import VALVE_FILL_UNMATCHED, VALVE_REPORTED, window_bounds
from ..domain.violations import Violation
from ..store import event_store
from ..store.projections import checkpoint, save_checkpoint
from ..store.valve_fills import mark_window_checked, station_fill_between, station_fills_after, used_unchecked
from ..store.valves import company_of_cylinder
from .tx import Tx
from .valve_lifecycle import valve_event_id

CHECKPOINT: Final = "valve_fill_window"
ACTOR: Final = "system:valve-fill-window"
_NAMESPACE: Final = uuid.UUID("5d0c7f0e-2f43-4b59-a0a3-4f0e8f2f6a11")


@dataclass(frozen=True, slots=True)
class WindowReport:
    unconfirmed: list[Violation]
    unrecorded: list[Violation]

    @property
    def violations(self) -> list[Violation]:
        return [*self.unconfirmed, *self.unrecorded]


async def check_fill_windows(tx: Tx, *, limit: int = 1000) -> WindowReport:
    window = timedelta(minutes=tx.policy().fill_confirm_window_minutes)
    return WindowReport(
        unconfirmed=await _unconfirmed(tx, window, limit),
        unrecorded=await _unrecorded(tx, window, limit),
    )


async def _record(tx: Tx, code: str, key: str, violation: Violation, at: datetime, evidence: list[str]) -> None:
    data: dict[str, Any] = {"rule": violation.rule, "evidence_event_ids": evidence,
                            "violations": [violation.to_json()]}
    event_id = str(uuid.uuid5(_NAMESPACE, key))
    await tx.record([NewEvent(VALVE_FILL_UNMATCHED, data, at, cylinder_stream(code))], event_id=event_id,
                    actor=ACTOR, source="mqtt")


async def _unconfirmed(tx: Tx, window: timedelta, limit: int) -> list[Violation]:
    """Station fills after the checkpoint whose window has closed, in position order."""
    conn = tx.conn
    after = await checkpoint(conn, CHECKPOINT)
    found: list[Violation] = []
    done = after
    for fill in await station_fills_after(conn, after, limit):
        if fill.occurred_at + window > tx.now:
            break  # not due yet; later fills wait behind it
        done = fill.position
        history = await event_store.read_stream(conn, fill.stream_id)
        before = fold((e.type, e.data, e.version) for e in history if e.version < fill.version)
        if before is None or before.smart_valve_id is None:
            continue
        lo, hi = window_bounds(fill.occurred_at, window)
        confirmed = any(
            e.type == VALVE_REPORTED and e.data.get("type") == "fill_completed" and lo <= e.occurred_at <= hi
            for e in history
        )
        if confirmed:
            continue
        code = fill.stream_id.removeprefix("cylinder:")
        violation = fill_unconfirmed(code, before.company_id, before.smart_valve_id, tx.policy(),
                                     fill.event_id)
        await _record(tx, code, f"unconfirmed:{fill.event_id}", violation, fill.occurred_at + window,
                      [fill.event_id])
        found.append(violation)
    if done != after:
        await save_checkpoint(conn, CHECKPOINT, done)
    return found


async def _unrecorded(tx: Tx, window: timedelta, limit: int) -> list[Violation]:
    """Authorized valve fills whose window has closed and that were not looked at yet."""
    conn = tx.conn
    found: list[Violation] = []
    for auth in await used_unchecked(conn, tx.now - window, limit):
        assert auth.used_at is not None and auth.used_seq is not None
        lo, hi = window_bounds(auth.used_at, window)
        if not await station_fill_between(conn, cylinder_stream(auth.cylinder_code), lo, hi):
            company = await company_of_cylinder(conn, auth.cylinder_code)
            valve_event = valve_event_id(auth.valve_id, auth.used_seq)
            violation = fill_unrecorded(auth.cylinder_code, company, auth.valve_id, tx.policy(), auth.auth_id,
                                        valve_event)
            await _record(tx, auth.cylinder_code, f"unrecorded:{auth.auth_id}", violation, auth.used_at + window,
                          [valve_event])
            found.append(violation)
        await mark_window_checked(conn, auth.auth_id, tx.now)
    return found
