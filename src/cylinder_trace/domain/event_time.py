"""When an event may have happened: one rule for every door (HTTP, MQTT, import).

An event time is a real instant (its offset applied, it still lies in the calendar, in UTC and in the
jurisdiction's zone), not before the cylinder was made, and not more than the policy's tolerance
(``event_time_future_tolerance_minutes``: clocks of stations and valves run a little ahead) after now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from .dates import local_day


class EventTimeRefused(ValueError):
    """The event time breaks the rule; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def real_instant(at: datetime) -> datetime:
    """``at`` in UTC; :class:`EventTimeRefused` when it has no offset or its offset takes it off the calendar."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise EventTimeRefused("must carry its offset (e.g. 2026-12-05T09:30:00+08:00)")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise EventTimeRefused("is not a real instant: its offset takes it off the calendar") from None


def event_day(at: datetime, timezone: str) -> date:
    """The jurisdiction's calendar day of an event time that is a real instant."""
    real_instant(at)
    try:
        return local_day(at, timezone)
    except OverflowError:
        raise EventTimeRefused("is not a real instant: it lies off the calendar in the local time zone") from None


def check_event_time(at: datetime, *, now: datetime, future_tolerance: timedelta, timezone: str,
                     made_on: date | None = None) -> date:
    """The local day of an event at ``at``, once the rule holds (:class:`EventTimeRefused` otherwise)."""
    day = event_day(at, timezone)
    if real_instant(at) > now.astimezone(UTC) + future_tolerance:
        minutes = int(future_tolerance.total_seconds() // 60)
        raise EventTimeRefused(f"lies in the future (more than {minutes} minutes after now)")
    if made_on is not None and day < made_on:
        raise EventTimeRefused(f"lies before the cylinder was made ({made_on.isoformat()})")
    return day


def reported_time(ts: datetime, *, received_at: datetime, now: datetime, future_tolerance: timedelta,
                  timezone: str, made_on: date | None = None) -> tuple[datetime, str | None]:
    """When a device's report happened: the time its clock gave, when that time keeps the rule; else
    the time the service received it, with the reason the device's time was not taken. A device whose
    clock was reset (a valve after a battery swap reports 1970 or 2000) or runs far ahead still has its
    report stored and placed in the history, at the moment the service knows it happened by."""
    try:
        check_event_time(ts, now=now, future_tolerance=future_tolerance, timezone=timezone, made_on=made_on)
    except EventTimeRefused as refused:
        return received_at, refused.reason
    return ts, None
