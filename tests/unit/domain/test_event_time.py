"""The event-time rule: a real instant, not before manufacture, not beyond the tolerance after now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain.event_time import EventTimeRefused, check_event_time, reported_time
from cylinder_trace.epcis.mapping import object_event

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
TOLERANCE = timedelta(minutes=60)


def check(at: datetime, made_on: date | None = None) -> date:
    return check_event_time(at, now=NOW, future_tolerance=TOLERANCE, timezone="Asia/Shanghai", made_on=made_on)


def test_the_local_day_of_a_good_time() -> None:
    assert check(datetime(2026, 12, 4, 17, 0, tzinfo=UTC), date(2020, 1, 1)) == date(2026, 12, 5)
    assert check(NOW + TOLERANCE) == date(2026, 12, 5)  # the tolerance is inclusive


@pytest.mark.parametrize("at", [
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12))),
    datetime(1, 1, 1, 0, 0, 0, tzinfo=timezone(timedelta(hours=14))),
    NOW + TOLERANCE + timedelta(seconds=1),
])
def test_times_off_the_calendar_or_in_the_future_are_refused(at: datetime) -> None:
    with pytest.raises(EventTimeRefused):
        check(at)


def test_a_time_before_manufacture_is_refused() -> None:
    with pytest.raises(EventTimeRefused, match="before the cylinder was made"):
        check(datetime(1970, 1, 1, tzinfo=UTC), date(2020, 5, 1))
    # the day of manufacture itself is fine, in the jurisdiction's calendar
    assert check(datetime(2020, 4, 30, 16, 0, tzinfo=UTC), date(2020, 5, 1)) == date(2020, 5, 1)


def test_an_epcis_event_stored_off_the_local_calendar_is_written_in_utc() -> None:
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    event = object_event(epc="urn:epc:id:grai:6901234.00001.A1", event_id="e", event_type="CylinderSeized",
                         data={}, occurred_at=far, recorded_at=NOW, event_hash="0" * 64, timezone="Asia/Shanghai")
    assert event is not None and event["eventTime"].startswith("9999-12-31T23:00:00.000+00:00")


@given(ts=st.datetimes(timezones=st.just(UTC)), made_on=st.none() | st.dates(max_value=date(2026, 12, 1)))
def test_a_device_report_keeps_its_own_time_exactly_when_the_rule_takes_it(ts: datetime, made_on: date | None) -> None:
    received = NOW - timedelta(seconds=3)
    at, reason = reported_time(ts, received_at=received, now=NOW, future_tolerance=TOLERANCE,
                               timezone="Asia/Shanghai", made_on=made_on)
    try:
        check(ts, made_on)
    except EventTimeRefused as refused:
        assert (at, reason) == (received, refused.reason)
    else:
        assert (at, reason) == (ts, None)
