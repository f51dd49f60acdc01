"""Sweeps: the absence-of-event rules, run on a schedule (``serve``) and on demand (``POST /sweeps``).

One run judges every cylinder, non-residential customer and fitted smart valve on the local day, and
records one ``SweepCompleted`` event (stream ``sweeps``) carrying only the violations that have no
unclosed finding yet — so a second run opens nothing new, and the ledger stays a pure projection.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from ..domain.cylinder import state_from_json
from ..domain.events import NewEvent
from ..domain.rules import sweeps as sweep_rules
from ..domain.rules.facts import CustomerFacts
from ..domain.violations import Violation
from ..projections.findings import active_head
from ..store.tables import customer_checks, cylinders, registry, valve_status
from .unit_of_work import Tx, UnitOfWork

SWEEP_COMPLETED: Final = "SweepCompleted"
SWEEP_STREAM: Final = "sweeps"
_OUT_OF_CIRCULATION: Final = ("scrapped", "unqualified", "seized")


@dataclass(frozen=True, slots=True)
class SweepReport:
    ran_at: datetime
    day: date
    opened: int
    already_open: int
    by_rule: dict[str, int]
    checked: dict[str, int]
    event_id: str | None
    findings_subjects: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ran_at": self.ran_at.isoformat(), "day": self.day.isoformat(), "opened": self.opened,
            "already_open": self.already_open, "by_rule": self.by_rule, "checked": self.checked,
            "event_id": self.event_id, "subjects": self.findings_subjects,
        }


async def _cylinder_violations(tx: Tx, day: date) -> tuple[list[Violation], int]:
    policy = tx.policy(day)
    horizon = day + timedelta(days=policy.inspection_due_soon_days)
    rows = (await tx.conn.execute(sa.select(cylinders.c.state).where(
        cylinders.c.status.not_in(_OUT_OF_CIRCULATION),
        sa.or_(cylinders.c.next_inspection_due <= horizon, cylinders.c.life_expires_on <= day),
    ).order_by(cylinders.c.code))).all()
    found = [v for r in rows for v in sweep_rules.cylinder_sweep(state_from_json(r.state), day, policy)]
    return found, len(rows)


async def _customer_violations(tx: Tx, day: date) -> tuple[list[Violation], int]:
    rows = (await tx.conn.execute(
        sa.select(registry.c.data, customer_checks.c.last_check_on)
        .select_from(registry.outerjoin(customer_checks, customer_checks.c.customer_id == registry.c.id))
        .where(registry.c.kind == "customer").order_by(registry.c.id)
    )).all()
    customers = [(CustomerFacts.from_entry(r.data), r.last_check_on) for r in rows]
    found = [v for facts, last in customers if not facts.residential
             for v in sweep_rules.safety_check_overdue(facts, last, day)]
    return found, sum(1 for facts, _ in customers if not facts.residential)


async def _valve_violations(tx: Tx, now: datetime, day: date) -> tuple[list[Violation], int]:
    """Fitted valves not heard for ``valve_offline_hours``; a fitted valve never heard is not judged."""
    policy = tx.policy(day)
    rows = (await tx.conn.execute(
        sa.select(cylinders.c.code, cylinders.c.company_id, cylinders.c.smart_valve_id, valve_status.c.last_seen)
        .select_from(cylinders.join(valve_status, valve_status.c.valve_id == cylinders.c.smart_valve_id))
        .where(cylinders.c.smart_valve_id.is_not(None), cylinders.c.status != "scrapped")
        .order_by(cylinders.c.code)
    )).all()
    found = [v for r in rows
             for v in sweep_rules.valve_offline(r.smart_valve_id, r.code, r.company_id, r.last_seen, now, policy)]
    return found, len(rows)


async def sweep(tx: Tx, now: datetime) -> SweepReport:
    day = tx.today(now)
    cyl, n_cyl = await _cylinder_violations(tx, day)
    cust, n_cust = await _customer_violations(tx, day)
    valves, n_valves = await _valve_violations(tx, now, day)
    new: list[Violation] = []
    seen: set[tuple[str, str]] = set()
    already = 0
    for v in (*cyl, *cust, *valves):
        key = (v.rule, v.subject)
        if key in seen:
            continue
        seen.add(key)
        if await active_head(tx.conn, v.rule, v.subject) is not None:
            already += 1
            continue
        new.append(v)
    event_id: str | None = None
    if new:
        data = {"day": day.isoformat(), "violations": [v.to_json() for v in new]}
        recorded = await tx.record([NewEvent(SWEEP_COMPLETED, data, now, SWEEP_STREAM)],
                                   event_id=str(uuid.uuid4()), actor="system:sweep", source="api")
        event_id = recorded[0].event_id
    by_rule: dict[str, int] = {}
    for v in new:
        by_rule[v.rule] = by_rule.get(v.rule, 0) + 1
    return SweepReport(now, day, len(new), already, by_rule,
                       {"cylinders": n_cyl, "non_residential_customers": n_cust, "valves": n_valves},
                       event_id, [v.subject for v in new])


async def run_sweeps(uow: UnitOfWork, now: datetime) -> SweepReport:
    """Run every sweep once, in one transaction, as of ``now`` (the scheduler's entry point)."""

    async def handler(tx: Tx) -> SweepReport:
        return await sweep(tx, now)

    return await uow.write(handler)
