"""Sweeps: the absence-of-event rules, run on a schedule (``serve``) and on demand (``POST /sweeps``).

One run judges every cylinder, non-residential customer and fitted smart valve on the local day, and
records ``SweepCompleted`` events (stream ``sweeps``, up to 1,000 violations each) carrying only the
violations that have no unclosed finding yet — so a second run opens nothing new, and the ledger stays a
pure projection. The judging reads the store outside the write path; only the recording goes through
the appender, ten events (10,000 findings) a transaction, so that a run that opens a great many findings
at once (the first over a census) lets the writes of stations and workers through between its
transactions instead of holding the append lock for all of them. Should a run stop half-way, the next
finds what it recorded open already and records the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.cylinder import Owner
from ..domain.dates import local_day
from ..domain.events import SWEEP_COMPLETED, SWEEP_STREAM, NewEvent
from ..domain.policy import Policy
from ..domain.rules import sweeps as sweep_rules
from ..domain.rules.facts import CustomerFacts
from ..domain.violations import Violation
from ..projections.findings import open_findings_of
from ..store.tables import customer_checks, cylinders, registry, valve_status
from .unit_of_work import Needs, Tx, UnitOfWork

#: a run with more new violations records them in several events
VIOLATIONS_PER_EVENT: Final = 1000
#: and stores at most this many of those events in one transaction
EVENTS_PER_TRANSACTION: Final = 10
_OUT_OF_CIRCULATION: Final = ("scrapped", "unqualified", "seized")
T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class _Swept:
    """A cylinder as the sweeps see it, read from the projection's columns (not its whole state)."""

    code: str
    status: str
    owner: Owner
    company_id: str | None
    customer_id: str | None
    next_inspection_due: date
    life_expires_on: date


async def _cylinder_violations(conn: AsyncConnection, day: date, policy: Policy) -> tuple[list[Violation], int]:
    horizon = day + timedelta(days=policy.inspection_due_soon_days)
    customer = (cylinders.c.state["customer_id"].as_string() if conn.dialect.name == "postgresql"
                else sa.func.json_extract(cylinders.c.state, "$.customer_id"))
    rows = (await conn.execute(sa.select(
        cylinders.c.code, cylinders.c.status, cylinders.c.owner_company_id, cylinders.c.owner_customer_id,
        cylinders.c.company_id, customer, cylinders.c.next_inspection_due, cylinders.c.life_expires_on,
    ).where(
        cylinders.c.status.not_in(_OUT_OF_CIRCULATION),
        sa.or_(cylinders.c.next_inspection_due <= horizon, cylinders.c.life_expires_on <= day),
    ).order_by(cylinders.c.code))).all()
    found = [v for r in rows for v in sweep_rules.cylinder_sweep(
        _Swept(r[0], r[1], Owner(r[2], r[3]), *r[4:]), day, policy)]
    return found, len(rows)


async def _customer_violations(conn: AsyncConnection, day: date) -> tuple[list[Violation], int]:
    rows = (await conn.execute(
        sa.select(registry.c.data, customer_checks.c.last_check_on)
        .select_from(registry.outerjoin(customer_checks, customer_checks.c.customer_id == registry.c.id))
        .where(registry.c.kind == "customer").order_by(registry.c.id)
    )).all()
    customers = [(CustomerFacts.from_entry(r.data), r.last_check_on) for r in rows]
    found = [v for facts, last in customers if not facts.residential
             for v in sweep_rules.safety_check_overdue(facts, last, day)]
    return found, sum(1 for facts, _ in customers if not facts.residential)


async def _valve_violations(conn: AsyncConnection, now: datetime, policy: Policy) -> tuple[list[Violation], int]:
    """Fitted valves not heard for ``valve_offline_hours``; a fitted valve never heard is not judged."""
    rows = (await conn.execute(
        sa.select(cylinders.c.code, cylinders.c.company_id, cylinders.c.smart_valve_id, valve_status.c.last_seen)
        .select_from(cylinders.join(valve_status, valve_status.c.valve_id == cylinders.c.smart_valve_id))
        .where(cylinders.c.smart_valve_id.is_not(None), cylinders.c.status != "scrapped",
               valve_status.c.last_seen < now - timedelta(hours=policy.valve_offline_hours))
        .order_by(cylinders.c.code)
    )).all()
    fitted = (await conn.execute(sa.select(sa.func.count()).select_from(
        cylinders.join(valve_status, valve_status.c.valve_id == cylinders.c.smart_valve_id)).where(
        cylinders.c.smart_valve_id.is_not(None), cylinders.c.status != "scrapped"))).scalar_one()
    found = [v for r in rows
             for v in sweep_rules.valve_offline(r.smart_valve_id, r.code, r.company_id, r.last_seen, now, policy)]
    return found, int(fitted)


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _recorder(events: list[NewEvent]) -> Callable[[Tx], Awaitable[str]]:
    """Stores ``events`` (ids derived from an id of their own) and answers the first one's id."""
    async def record(tx: Tx) -> str:
        recorded = await tx.record(events, event_id=str(uuid.uuid4()), actor="system:sweep", source="api")
        return recorded[0].event_id

    return record


@dataclass(frozen=True, slots=True)
class _Judged:
    new: list[Violation]
    already_open: int
    checked: dict[str, int]


async def _judge(conn: AsyncConnection, now: datetime, day: date, policy: Policy) -> _Judged:
    """Every absence-of-event rule over the whole store, and which of its violations have no unclosed
    finding yet (read with one query)."""
    cyl, n_cyl = await _cylinder_violations(conn, day, policy)
    cust, n_cust = await _customer_violations(conn, day)
    valves, n_valves = await _valve_violations(conn, now, policy)
    unique: dict[tuple[str, str], Violation] = {}
    for v in (*cyl, *cust, *valves):
        unique.setdefault((v.rule, v.subject), v)
    open_now = await open_findings_of(conn, {rule for rule, _ in unique})
    return _Judged([v for key, v in unique.items() if key not in open_now], len(unique.keys() & open_now),
                   {"cylinders": n_cyl, "non_residential_customers": n_cust, "valves": n_valves})


async def run_sweeps(uow: UnitOfWork, now: datetime, *, violations_per_event: int = VIOLATIONS_PER_EVENT,
                     events_per_transaction: int = EVENTS_PER_TRANSACTION) -> SweepReport:
    """Run every sweep once as of ``now`` (the scheduler's entry point): the store is read on a connection
    of its own, and only the findings of the run (``SweepCompleted`` events) go through the appender.
    A finding opened by a write between the two is not opened twice: the sweep's violation is added to it
    as evidence. The report's ``event_id`` is the run's first event."""
    day = local_day(now, uow.timezone)
    policy = uow.policy_book.at(uow.jurisdiction, day)
    judged = await uow.read(lambda conn: _judge(conn, now, day, policy))
    events = [NewEvent(SWEEP_COMPLETED, {"day": day.isoformat(), "violations": [v.to_json() for v in chunk]},
                       now, SWEEP_STREAM) for chunk in _chunks(judged.new, violations_per_event)]
    recorded_ids = [await uow.write(_recorder(part), Needs(streams=(SWEEP_STREAM,)))
                    for part in _chunks(events, events_per_transaction)]
    event_id = recorded_ids[0] if recorded_ids else None
    by_rule: dict[str, int] = {}
    for v in judged.new:
        by_rule[v.rule] = by_rule.get(v.rule, 0) + 1
    return SweepReport(now, day, len(judged.new), judged.already_open, by_rule, judged.checked, event_id,
                       [v.subject for v in judged.new])
