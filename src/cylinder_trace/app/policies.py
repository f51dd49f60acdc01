"""The local day of an action and the policy in force on it (DOMAIN.md: every rule judges an action
with the policy table of the action's day, never today's). A writing handler asks its ``Tx``; a reading
one the :class:`UnitOfWork`. A day no policy table covers is a 422 naming the field that gave the day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ..domain.dates import local_day
from ..domain.event_time import EventTimeRefused, check_event_time
from ..domain.policy import NoPolicy, Policy
from .errors import InvalidInput
from .unit_of_work import Tx, UnitOfWork


def day_of(tx: Tx, at: datetime, field: str = "occurred_at", made_on: date | None = None) -> date:
    """The local (jurisdiction) calendar day of an event at ``at``, once the event-time rule holds
    (``domain/event_time.py``; ``made_on``: the cylinder's manufacture date); 422 naming ``field`` else."""
    try:
        tolerance = timedelta(minutes=tx.policy().event_time_future_tolerance_minutes)
        return check_event_time(at, now=tx.now, future_tolerance=tolerance, timezone=tx.timezone, made_on=made_on)
    except EventTimeRefused as exc:
        raise InvalidInput(field, exc.reason) from None


def rule_day(tx: Tx, at: datetime, field: str = "occurred_at", made_on: date | None = None) -> tuple[date, Policy]:
    """The local day an action happened on and the policy in force that day (422 when there is none)."""
    day = day_of(tx, at, field, made_on)
    try:
        return day, tx.policy(day)
    except NoPolicy as exc:
        raise InvalidInput(field, str(exc)) from None


def policy_on(uow: UnitOfWork, day: date, field: str) -> Policy:
    """The policy in force on ``day`` for a reading handler (422 naming ``field`` when there is none)."""
    try:
        return uow.policy_book.at(uow.jurisdiction, day)
    except NoPolicy as exc:
        raise InvalidInput(field, str(exc)) from None


def today_and_policy(uow: UnitOfWork) -> tuple[datetime, date, Policy]:
    """Now, today's local day and the policy in force today (the clock of the unit of work)."""
    now = uow.clock()
    today = local_day(now, uow.timezone)
    return now, today, policy_on(uow, today, "today")
