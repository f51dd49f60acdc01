"""Sweep rules: what the *absence* of events means, judged on a day (DOMAIN.md, Sweeps).

* a cylinder whose inspection falls due within ``inspection_due_soon_days`` (warn);
* an overdue or life-expired cylinder still at a customer (high: recall);
* an overdue company cylinder left in stock (``STOCK_OVERDUE_INSPECTION``, high: send it for inspection);
* a non-residential customer with no safety check this calendar month (``SAFETY_CHECK_OVERDUE``);
* a fitted smart valve not heard for ``valve_offline_hours`` (:func:`valve_offline`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from ..cylinder import Owner
from ..policy import Policy
from ..violations import Violation
from . import catalogue as c
from .catalogue import subject
from .facts import CustomerFacts

#: statuses whose cylinders are out of circulation: nothing to sweep
_RETIRED = frozenset({"scrapped", "unqualified", "seized"})


class SweptCylinder(Protocol):
    """What the cylinder sweeps look at (a :class:`~cylinder_trace.domain.cylinder.CylinderState` has it;
    so has a row read for a sweep without the whole state)."""

    @property
    def code(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def owner(self) -> Owner: ...
    @property
    def company_id(self) -> str | None: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def next_inspection_due(self) -> date: ...
    @property
    def life_expires_on(self) -> date: ...


def inspection_due_soon(state: SweptCylinder, today: date, policy: Policy) -> list[Violation]:
    if state.status in _RETIRED:
        return []
    horizon = today + timedelta(days=policy.inspection_due_soon_days)
    if today <= state.next_inspection_due <= horizon:
        return [c.INSPECTION_DUE_SOON.at(subject("cylinder", state.code), state.company_id,
                                         due_on=state.next_inspection_due.isoformat())]
    return []


def overdue_at_customer(state: SweptCylinder, today: date, policy: Policy) -> list[Violation]:
    if state.status == "at_customer" and today > state.next_inspection_due:
        return [c.OVERDUE_AT_CUSTOMER.at(subject("cylinder", state.code), state.company_id,
                                         due_on=state.next_inspection_due.isoformat(),
                                         customer_id=state.customer_id)]
    return []


def life_expired_at_customer(state: SweptCylinder, today: date, policy: Policy) -> list[Violation]:
    if state.status == "at_customer" and today >= state.life_expires_on:
        return [c.LIFE_EXPIRED_AT_CUSTOMER.at(subject("cylinder", state.code), state.company_id,
                                              life_expires_on=state.life_expires_on.isoformat(),
                                              customer_id=state.customer_id)]
    return []


#: a company's stock (空瓶、实瓶在库)
IN_STOCK = frozenset({"empty_in_stock", "full_in_stock"})


def stock_overdue_inspection(state: SweptCylinder, today: date, policy: Policy) -> list[Violation]:
    """A company cylinder left in stock overdue for inspection, not sent (未按要求送检)."""
    if state.status in IN_STOCK and state.owner.company_id is not None and today > state.next_inspection_due:
        return [c.STOCK_OVERDUE_INSPECTION.at(subject("cylinder", state.code), state.company_id,
                                              due_on=state.next_inspection_due.isoformat())]
    return []


CYLINDER_SWEEPS = (inspection_due_soon, overdue_at_customer, life_expired_at_customer, stock_overdue_inspection)


def cylinder_sweep(state: SweptCylinder, today: date, policy: Policy) -> list[Violation]:
    return [v for rule in CYLINDER_SWEEPS for v in rule(state, today, policy)]


def safety_check_overdue(customer: CustomerFacts, last_check_on: date | None, today: date) -> list[Violation]:
    """A non-residential customer must be checked every calendar month (Asia/Shanghai months)."""
    if customer.residential:
        return []
    if last_check_on is not None and (last_check_on.year, last_check_on.month) == (today.year, today.month):
        return []
    return [c.SAFETY_CHECK_OVERDUE.at(subject("customer", customer.id), customer.company_id,
                                      month=f"{today.year:04d}-{today.month:02d}",
                                      last_check_on=last_check_on.isoformat() if last_check_on else None)]


def valve_offline(valve_id: str, cylinder_code: str | None, company_id: str | None, last_seen: datetime | None,
                  now: datetime, policy: Policy) -> list[Violation]:
    """A fitted smart valve not heard for ``valve_offline_hours`` (one never heard is not judged here:
    it has no time to count from). Names the cylinder the valve is fitted to."""
    if last_seen is None or now - last_seen < timedelta(hours=policy.valve_offline_hours):
        return []
    target = subject("cylinder", cylinder_code) if cylinder_code else subject("valve", valve_id)
    return [c.VALVE_OFFLINE.at(target, company_id, valve_id=valve_id, hours=policy.valve_offline_hours,
                               last_seen=last_seen.isoformat())]
