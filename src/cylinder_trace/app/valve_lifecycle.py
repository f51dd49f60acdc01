"""Lifecycle-relevant valve messages into the history of the cylinder the valve is fitted to.

Runs inside a valve batch's transaction, for messages stored for the first time only. Each becomes one
``ValveReported`` event (source ``mqtt``, actor ``valve:<id>``, event id derived from
``(valve_id, seq)``) carrying the message and the valve rules it breaks under ``violations``; the
findings projection turns those into findings. Authorizations named by ``fill_started`` and
``fill_completed`` are judged and updated in the same transaction. The event happens when the valve's
clock says, unless that time breaks the event-time rule of every door (``domain/event_time.py``: a
reset clock, one far ahead): then when the service received it, the valve's time kept in ``ts`` and
the reason in ``ts_refused``.

However many messages a batch holds, this costs a fixed handful of statements: the fitted cylinders,
the authorizations named, and the cylinders' states and stream heads are each loaded with one query;
the events are staged in memory (``Tx.record``) and written with the batch's other events; the
authorizations used are saved with one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from ..domain.canonical import format_ts
from ..domain.event_time import reported_time
from ..domain.events import NewEvent, cylinder_stream
from ..domain.rules.valves import report_violations
from ..domain.valves import VALVE_REPORTED, Authorization, FillVerdict, judge_fill_completed, judge_fill_started
from ..mqtt.protocol import EventType
from ..store.valve_fills import lock_authorizations, save_authorization_uses
from ..store.valves import fitted_cylinders
from .batch import Needs
from .tx import Tx
from .valve_arrivals import EventMessage

_NAMESPACE: Final = uuid.UUID("0b7f3f4e-5a52-4a8e-9d0e-6c7a2f1d9b31")
_AUTHORIZED_TYPES: Final = frozenset({EventType.FILL_STARTED, EventType.FILL_COMPLETED})


def valve_event_id(valve_id: str, seq: int) -> str:
    """The id of the ``ValveReported`` event of a message: the same message always gets the same id."""
    return str(uuid.uuid5(_NAMESPACE, f"valve:{valve_id}:{seq}"))


@dataclass(frozen=True, slots=True)
class LifecycleOutcome:
    appended: int
    #: lifecycle messages of valves not fitted to any cylinder (stored, but in no cylinder's history)
    unfitted: int


async def record_lifecycle(tx: Tx, messages: Sequence[EventMessage]) -> LifecycleOutcome:
    """Append the lifecycle-relevant ``messages`` to their cylinders' histories, each valve's in ``seq``
    order."""
    relevant = sorted((m for m in messages if m.message.lifecycle_relevant), key=lambda m: m.key)
    if not relevant:
        return LifecycleOutcome(0, 0)
    fitted = await fitted_cylinders(tx.conn, {m.message.valve_id for m in relevant})
    auths = await lock_authorizations(tx.conn, [
        str(m.message.data["auth_id"]) for m in relevant
        if m.message.type in _AUTHORIZED_TYPES and m.message.valve_id in fitted])
    await tx.batch.prefetch([Needs(codes=tuple(sorted({c.code for c in fitted.values()})))], ())
    changed: dict[str, Authorization] = {}
    tolerance = timedelta(minutes=tx.policy().event_time_future_tolerance_minutes)
    appended = 0
    for m in relevant:
        msg = m.message
        cylinder = fitted.get(msg.valve_id)
        if cylinder is None:
            continue
        verdict: FillVerdict | None = None
        if msg.type in _AUTHORIZED_TYPES:
            auth_id = str(msg.data["auth_id"])
            auth = auths.get(auth_id)
            if msg.type is EventType.FILL_STARTED:
                started = judge_fill_started(auth, msg.valve_id, msg.ts)
                if started is not None:
                    auths[auth_id] = changed[auth_id] = started
            else:
                judgement = judge_fill_completed(auth, msg.valve_id, msg.seq, msg.ts)
                verdict = judgement.verdict
                if judgement.updated is not None:
                    auths[auth_id] = changed[auth_id] = judgement.updated
        found = report_violations(msg.type.value, msg.data, valve_id=msg.valve_id, seq=msg.seq,
                                  cylinder_code=cylinder.code, company_id=cylinder.company_id,
                                  fill_verdict=verdict)
        data: dict[str, Any] = {
            "valve_id": msg.valve_id,
            "seq": msg.seq,
            "type": msg.type.value,
            "ts": msg.ts_text,
            "data": dict(msg.data),
            "received_at": format_ts(m.arrival.received_at),
            "violations": [v.to_json() for v in found],
        }
        if verdict is not None:
            data["authorization"] = verdict.value
        state = await tx.load_cylinder(cylinder.code)
        occurred_at, clock_refused = reported_time(
            msg.ts, received_at=m.arrival.received_at, now=tx.now, future_tolerance=tolerance, timezone=tx.timezone,
            made_on=state.manufactured_on if state is not None else None)
        if clock_refused is not None:  # the valve's own time stays in ``ts``
            data["ts_refused"] = clock_refused
        event = NewEvent(VALVE_REPORTED, data, occurred_at, cylinder_stream(cylinder.code))
        await tx.record([event], event_id=valve_event_id(msg.valve_id, msg.seq), actor=f"valve:{msg.valve_id}",
                        source="mqtt")
        appended += 1
    await save_authorization_uses(tx.conn, list(changed.values()))
    return LifecycleOutcome(appended, len(relevant) - appended)
