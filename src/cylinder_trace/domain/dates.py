"""Calendar arithmetic the rules share: anniversaries and inclusive validity."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def add_years(day: date, years: int) -> date:
    """The ``years``-th anniversary of ``day``; 29 February falls back to 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def whole_years_between(start: date, end: date) -> int:
    """Completed years from ``start`` to ``end`` (an anniversary counts as completed)."""
    years = end.year - start.year
    if add_years(start, years) > end:
        years -= 1
    return years


def valid_on(valid_until: date | None, day: date) -> bool:
    """A licence or certificate valid until a day is valid on that day (inclusive)."""
    return valid_until is not None and day <= valid_until


def local_day(moment: datetime, tz: str) -> date:
    """The calendar day of ``moment`` in the jurisdiction's time zone."""
    return moment.astimezone(ZoneInfo(tz)).date()
