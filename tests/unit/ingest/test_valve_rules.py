"""The valve rules and the judgement of fill authorizations, on plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain.rules import sweeps
from cylinder_trace.domain.rules import valves as rules
from cylinder_trace.domain.valves import (
    Authorization,
    DeviceStatus,
    FillVerdict,
    Report,
    judge_fill_completed,
    judge_fill_started,
    summarize,
)
from cylinder_trace.policy import load_policy_book

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
POLICY = load_policy_book(None).at("CN-JL-DAGANGZI", T0.date())


def auth() -> Authorization:
    return Authorization("A1", "V1", "0699", "S1", issued_at=T0, expires=T0 + timedelta(minutes=15))


def test_an_issued_unused_authorization_in_time_is_legal_and_becomes_used() -> None:
    j = judge_fill_completed(auth(), "V1", 10, T0 + timedelta(minutes=5))
    assert j.verdict is FillVerdict.AUTHORIZED and j.legal
    assert j.updated is not None and j.updated.used_seq == 10


def test_a_forged_or_foreign_authorization_was_never_issued() -> None:
    assert judge_fill_completed(None, "V1", 10, T0).verdict is FillVerdict.NEVER_ISSUED
    assert judge_fill_completed(auth(), "V2", 10, T0).verdict is FillVerdict.NEVER_ISSUED


def test_a_fill_begun_after_expiry_is_expired_but_one_begun_before_is_not() -> None:
    late = T0 + timedelta(minutes=20)
    assert judge_fill_completed(auth(), "V1", 10, late).verdict is FillVerdict.EXPIRED
    started = judge_fill_started(auth(), "V1", T0 + timedelta(minutes=14))
    assert started is not None
    assert judge_fill_completed(started, "V1", 11, late).verdict is FillVerdict.AUTHORIZED


def test_a_second_fill_under_one_authorization_is_a_reuse() -> None:
    used = judge_fill_completed(auth(), "V1", 10, T0).updated
    assert judge_fill_completed(used, "V1", 12, T0).verdict is FillVerdict.REUSED
    assert judge_fill_completed(used, "V1", 10, T0).verdict is FillVerdict.AUTHORIZED  # the same message again


def test_fill_started_of_another_valve_changes_nothing() -> None:
    assert judge_fill_started(auth(), "V9", T0) is None
    assert judge_fill_started(None, "V1", T0) is None


def test_report_rules() -> None:
    kw = {"valve_id": "V1", "seq": 3, "cylinder_code": "069999990000412", "company_id": "C1"}
    refill = rules.report_violations("refill_detected", {"delta_kg": 3.0}, **kw)
    assert [(v.rule, v.severity, v.subject) for v in refill] == [
        ("VALVE_ILLEGAL_REFILL", "high", "cylinder:069999990000412")]
    assert refill[0].detail["company_id"] == "C1"
    for verdict in (FillVerdict.NEVER_ISSUED, FillVerdict.EXPIRED, FillVerdict.REUSED):
        found = rules.report_violations("fill_completed", {"auth_id": "x", "mass_kg": 14.5}, fill_verdict=verdict,
                                        **kw)
        assert [v.rule for v in found] == ["VALVE_ILLEGAL_REFILL"]
        assert verdict.value in found[0].message_en
    assert rules.report_violations("fill_completed", {"auth_id": "x", "mass_kg": 1.0},
                                   fill_verdict=FillVerdict.AUTHORIZED, **kw) == []
    assert [v.rule for v in rules.report_violations("tamper", {"kind": "case_opened"}, **kw)] == ["VALVE_TAMPER"]
    assert [v.rule for v in rules.report_violations("leak", {"ppm": 900}, **kw)] == ["VALVE_LEAK"]
    for quiet in ("opened", "closed", "fill_started", "fill_denied"):
        assert rules.report_violations(quiet, {}, **kw) == []


def test_window_rules_carry_the_window_and_the_evidence() -> None:
    v = rules.fill_unconfirmed("0699", "C1", "V1", POLICY, "e1")
    assert (v.rule, v.severity, v.detail["window_minutes"]) == ("VALVE_FILL_UNCONFIRMED", "warn", 30)
    u = rules.fill_unrecorded("0699", "C1", "V1", POLICY, "A1", "e2")
    assert (u.rule, u.severity, u.detail["valve_event_id"]) == ("VALVE_FILL_UNRECORDED", "high", "e2")


def test_offline_after_the_policy_hours() -> None:
    now = T0 + timedelta(hours=72)
    assert sweeps.valve_offline("V1", "0699", "C1", T0 + timedelta(minutes=1), now, POLICY) == []
    [v] = sweeps.valve_offline("V1", "0699", "C1", T0, now, POLICY)
    assert (v.rule, v.subject) == ("VALVE_OFFLINE", "cylinder:0699")


def test_device_status_keeps_the_newest_battery_reading_in_any_order() -> None:
    first = summarize("V1", [Report(5, "heartbeat", T0, battery_pct=80, rssi=-60),
                             Report(6, "opened", T0 + timedelta(seconds=2))])
    late = summarize("V1", [Report(3, "low_battery", T0 + timedelta(seconds=1), battery_pct=9)])
    assert (first.last_seq, first.battery_seq, first.last_seen) == (6, 5, T0 + timedelta(seconds=2))
    one = DeviceStatus().merged(first).merged(late)
    other = DeviceStatus().merged(late).merged(first)
    assert one == other
    assert (one.battery_pct, one.battery_seq, one.rssi, one.last_seq) == (80, 5, -60, 6)
    assert one.last_seen == T0 + timedelta(seconds=2)
    newer = one.merged(summarize("V1", [Report(9, "low_battery", T0, battery_pct=7)]))
    assert (newer.battery_pct, newer.rssi) == (7, -60)  # a low_battery keeps the last rssi


def test_presence_and_online() -> None:
    s = DeviceStatus()
    assert s.online is None and not s.is_online(T0, timedelta(hours=72))
    off = s.with_presence(False, T0)
    assert off.online is False and off.status_changed_at == T0
    assert off.with_presence(False, T0 + timedelta(hours=1)) is off
    assert DeviceStatus(last_seen=T0).is_online(T0 + timedelta(hours=1), timedelta(hours=72))
    assert not DeviceStatus(last_seen=T0).is_online(T0 + timedelta(hours=72), timedelta(hours=72))


_reports = st.lists(st.builds(
    Report, seq=st.integers(1, 50), type=st.sampled_from(["heartbeat", "low_battery", "opened", "tamper"]),
    received_at=st.integers(0, 100).map(lambda s: T0 + timedelta(seconds=s)),
    battery_pct=st.none() | st.floats(0, 100), rssi=st.none() | st.floats(-120, 0),
    level_pct=st.none() | st.floats(0, 100)), min_size=1, max_size=30)


def _newest(reports: list[Report], field: str) -> tuple[int, float | None]:
    """``(seq, value)`` of the highest-seq battery-type report carrying ``field`` (the first of equals)."""
    carrying = [r for r in reports if r.type in ("heartbeat", "low_battery") and getattr(r, field) is not None]
    if not carrying:
        return 0, None
    newest = max(carrying, key=lambda r: r.seq)
    return newest.seq, getattr(newest, field)


@given(_reports)
def test_a_summary_is_the_highest_seq_the_latest_receipt_and_each_reading_of_its_highest_seq(
    reports: list[Report],
) -> None:
    summary = summarize("V1", reports)
    assert summary.last_seq == max(r.seq for r in reports)
    assert summary.last_seen == max(r.received_at for r in reports)
    assert (summary.battery_seq, summary.battery_pct) == _newest(reports, "battery_pct")
    assert (summary.rssi_seq, summary.rssi) == _newest(reports, "rssi")
    assert (summary.level_seq, summary.level_pct) == _newest(reports, "level_pct")


@given(st.lists(st.builds(
    Report, seq=st.integers(1, 50), type=st.sampled_from(["heartbeat", "low_battery", "opened"]),
    received_at=st.integers(0, 100).map(lambda s: T0 + timedelta(seconds=s)),
    battery_pct=st.none() | st.floats(0, 100), rssi=st.none() | st.floats(-120, 0),
    level_pct=st.none() | st.floats(0, 100)), min_size=1, max_size=30, unique_by=lambda r: r.seq),
    st.randoms(use_true_random=False))
def test_a_status_does_not_depend_on_how_reports_are_batched_or_ordered(reports: list[Report], rng: Random) -> None:
    """A valve's messages may reach the store in any grouping and order (late ones, several ingestors)."""
    shuffled = list(reports)
    rng.shuffle(shuffled)
    cut = rng.randint(1, len(shuffled))
    in_two = DeviceStatus().merged(summarize("V1", shuffled[:cut]))
    if shuffled[cut:]:
        in_two = in_two.merged(summarize("V1", shuffled[cut:]))
    one_by_one = DeviceStatus()
    for r in reports:
        one_by_one = one_by_one.merged(summarize("V1", [r]))
    assert in_two == one_by_one == DeviceStatus().merged(summarize("V1", reports))
