"""The local day of an action and the policy in force on it (DOMAIN.md: every rule judges an action
with the policy table of the action's day, never today's). A writing handler asks its ``Tx``; a reading
one the :class:`UnitOfWork`. A day no policy table covers is a 422 naming the field that gave the day."""

from __future__ import annotations

from datetime import date, datetime

from ..domain.dates import local_day
from ..domain.policy import NoPolicy, Policy
from .errors import InvalidInput
from .unit_of_work import Tx, UnitOfWork


def day_of(tx: Tx, at: datetime, field: str = "occurred_at") -> date:
    """The local (jurisdiction) calendar day of ``at``."""
    try:
        return tx.today(at)
    except OverflowError:
        raise InvalidInput(field, "lies outside the calendar") from None


def rule_day(tx: Tx, at: datetime, field: str = "occurred_at") -> tuple[date, Policy]:
    """The local day an action happened on and the policy in force that day (422 when there is none)."""
    day = day_of(tx, at, field)
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
