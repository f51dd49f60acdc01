"""Fill pre-check rules, one table row per trigger and its nearest non-trigger (DOMAIN.md, Fill pre-check)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from cylinder_trace.domain import decide
from cylinder_trace.domain.commands import CheckFill, RecordFill
from cylinder_trace.domain.cylinder import Owner
from cylinder_trace.domain.rules import fill
from cylinder_trace.domain.rules.facts import CompanyFacts, StaffFacts, StationFacts

from .support import AT, CODE, TODAY, cylinder, fill_ctx, rules_of

D = timedelta(days=1)
CUTOFF = date(2023, 9, 30)

# (rule function, state changes, context changes, expected rule codes)
ROWS: list[tuple[Callable[..., Any], dict[str, Any], dict[str, Any], list[str]]] = [
    # due today may be filled today; overdue from tomorrow
    (fill.overdue_inspection, {"next_inspection_due": TODAY}, {}, []),
    (fill.overdue_inspection, {"next_inspection_due": TODAY - D}, {}, ["FILL_OVERDUE_INSPECTION"]),
    # design life is reached on the anniversary itself
    (fill.life_expired, {"life_expires_on": TODAY + D}, {}, []),
    (fill.life_expired, {"life_expires_on": TODAY}, {}, ["FILL_LIFE_EXPIRED"]),
    (fill.dual_phase_valve, {"model": "YSP118-II", "valve_phase": "dual"}, {}, ["FILL_DUAL_PHASE_VALVE"]),
    (fill.dual_phase_valve, {"model": "YSP118-II", "valve_phase": "single"}, {}, []),  # converted + passed
    (fill.scrapped, {"status": "scrapped"}, {}, ["FILL_SCRAPPED"]),
    (fill.scrapped, {"status": "empty_in_stock"}, {}, []),
    (fill.scrapped_reappeared, {"status": "scrapped"}, {}, ["SCRAPPED_CYLINDER_REAPPEARED"]),
    (fill.scrapped_reappeared, {"status": "seized"}, {}, []),
    (fill.seized, {"status": "seized"}, {}, ["FILL_SEIZED"]),
    (fill.seized, {"status": "full_in_stock"}, {}, []),
    (fill.unqualified, {"status": "unqualified", "last_inspection_result": "fail"}, {}, ["FILL_UNQUALIFIED"]),
    (fill.unqualified, {"status": "seized", "last_inspection_result": "fail"}, {}, ["FILL_UNQUALIFIED"]),
    (fill.unqualified, {"last_inspection_result": "pass", "last_inspected_on": TODAY}, {}, []),
    # smart valve required for company cylinders registered / inspected / taken over on or after 2023-09-30
    (fill.no_smart_valve, {"smart_valve_id": None, "registered_on": CUTOFF}, {}, ["FILL_NO_SMART_VALVE"]),
    (fill.no_smart_valve, {"smart_valve_id": None, "registered_on": CUTOFF - D}, {}, []),
    (fill.no_smart_valve, {"smart_valve_id": None, "registered_on": CUTOFF - D, "last_inspected_on": CUTOFF,
                           "last_inspection_result": "pass"}, {}, ["FILL_NO_SMART_VALVE"]),
    (fill.no_smart_valve, {"smart_valve_id": None, "registered_on": CUTOFF - D, "last_inspected_on": CUTOFF,
                           "last_inspection_result": "fail"}, {}, []),
    (fill.no_smart_valve, {"smart_valve_id": None, "registered_on": CUTOFF - D, "acquired_on": TODAY},
     {}, ["FILL_NO_SMART_VALVE"]),
    (fill.no_smart_valve, {"smart_valve_id": None, "owner": Owner(customer_id="U1")}, {}, []),
    # new to the company (in_service_since) decides, not the registration day: a census of the existing fleet
    (fill.no_smart_valve, {"smart_valve_id": None, "registered_on": TODAY, "in_service_since": CUTOFF - D}, {}, []),
    (fill.no_smart_valve, {"smart_valve_id": None, "registered_on": TODAY, "in_service_since": CUTOFF},
     {}, ["FILL_NO_SMART_VALVE"]),
    (fill.no_smart_valve, {"smart_valve_id": "V1", "registered_on": TODAY}, {}, []),
    (fill.swap_inspection_pending, {"inspection_required": True}, {}, ["FILL_SWAP_INSPECTION_PENDING"]),
    (fill.swap_inspection_pending, {"inspection_required": False}, {}, []),
    (fill.not_owned, {"owner": Owner(company_id="C2")}, {}, ["FILL_NOT_OWNED"]),
    (fill.not_owned, {"owner": Owner(customer_id="U1")}, {}, ["FILL_NOT_OWNED"]),
    (fill.not_owned, {"owner": Owner(company_id="C1")}, {}, []),
    # a licence valid until today is valid today
    (fill.station_unlicensed, {}, {"station": StationFacts("S1", "C1", TODAY)}, []),
    (fill.station_unlicensed, {}, {"station": StationFacts("S1", "C1", TODAY - D)}, ["FILL_STATION_UNLICENSED"]),
    (fill.station_unlicensed, {}, {"station": StationFacts("S1", "C1", None)}, ["FILL_STATION_UNLICENSED"]),
    (fill.station_unlicensed, {}, {"company": CompanyFacts("C1", TODAY - D)}, ["FILL_STATION_UNLICENSED"]),
    (fill.station_unlicensed, {}, {"company": CompanyFacts("C1", TODAY)}, []),
    (fill.filler_uncertified, {}, {"filler": StaffFacts("F1", "C1", "filler", "C", TODAY)}, []),
    (fill.filler_uncertified, {}, {"filler": StaffFacts("F1", "C1", "filler", "C", TODAY - D)},
     ["FILL_FILLER_UNCERTIFIED"]),
    (fill.filler_uncertified, {}, {"filler": StaffFacts("F1", "C1", "filler", None, TODAY)},
     ["FILL_FILLER_UNCERTIFIED"]),
    (fill.filler_uncertified, {}, {"filler": StaffFacts("D1", "C1", "delivery_worker", "C", TODAY)},
     ["FILL_FILLER_UNCERTIFIED"]),
    (fill.filler_uncertified, {}, {"filler": StaffFacts("F9", "C2", "filler", "C", TODAY)},
     ["FILL_FILLER_UNCERTIFIED"]),
    (fill.filler_uncertified, {}, {"filler": None}, []),
    # net mass equal to the model's max fill is fine; a gram more is overfilled
    (fill.overfill, {}, {"net_mass_kg": 14.9}, []),
    (fill.overfill, {}, {"net_mass_kg": 14.91}, ["FILL_OVERFILL"]),
    (fill.overfill, {"model": "YSP118"}, {"net_mass_kg": 49.5}, []),
    (fill.overfill, {}, {"net_mass_kg": None}, []),
    (fill.checks_failed, {}, {"checks": {"pre_fill_ok": True, "post_fill_ok": False, "leak_ok": True}},
     ["FILL_CHECKS_FAILED"]),
    (fill.checks_failed, {}, {"checks": None}, []),
]


@pytest.mark.parametrize(("rule", "state_changes", "ctx_changes", "expected"), ROWS,
                         ids=[f"{r[0].__name__}-{i}" for i, r in enumerate(ROWS)])
def test_fill_rule(rule: Callable[..., Any], state_changes: dict[str, Any], ctx_changes: dict[str, Any],
                   expected: list[str]) -> None:
    ctx = fill_ctx(**ctx_changes)
    arg = ctx.state_context if rule in fill.STATE_RULES else ctx
    found = rule(cylinder(**state_changes), arg)
    assert rules_of(found) == expected
    for v in found:
        assert v.message_zh and v.message_en and v.detail["company_id"]


@pytest.mark.parametrize(("rule", "state_changes", "ctx_changes", "subject"), [
    (fill.overdue_inspection, {"next_inspection_due": TODAY - D}, {}, f"cylinder:{CODE}"),
    (fill.not_owned, {"owner": Owner(company_id="C2")}, {}, "station:S1"),
    (fill.station_unlicensed, {}, {"company": CompanyFacts("C1", None)}, "company:C1"),
    (fill.filler_uncertified, {}, {"filler": StaffFacts("F1", "C1", "filler", "C", TODAY - D)}, "company:C1"),
    (fill.overfill, {}, {"net_mass_kg": 20.0}, "station:S1"),
])
def test_subjects_name_what_must_change(rule: Callable[..., Any], state_changes: dict[str, Any],
                                        ctx_changes: dict[str, Any], subject: str) -> None:
    ctx = fill_ctx(**ctx_changes)
    arg = ctx.state_context if rule in fill.STATE_RULES else ctx
    (v,) = rule(cylinder(**state_changes), arg)
    assert v.subject == subject


def test_a_fillable_cylinder_breaks_no_rule() -> None:
    assert fill.fill_violations(cylinder(), fill_ctx()) == []


def test_a_refused_fill_lists_every_broken_rule_and_keeps_the_measured_mass() -> None:
    state = cylinder(status="full_in_stock", next_inspection_due=TODAY - D, model="YSP118-II", valve_phase="dual",
                     owner=Owner(company_id="C2"))
    cmd = RecordFill(CODE, "S1", "F1", AT, 52.0, {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True})
    decision = decide.fill(state, cmd, [fill.fill_check(fill_ctx(net_mass_kg=52.0))])
    assert decision.refused
    assert set(rules_of(decision.violations)) == {
        "LIFECYCLE_INVALID_TRANSITION", "FILL_OVERDUE_INSPECTION", "FILL_DUAL_PHASE_VALVE", "FILL_NOT_OWNED",
        "FILL_OVERFILL",
    }
    (event,) = decision.events
    assert event.type == "FillRefused"
    assert event.data["command"]["net_mass_kg"] == 52.0
    overfill = next(v for v in event.data["violations"] if v["rule"] == "FILL_OVERFILL")
    assert overfill["detail"]["net_mass_kg"] == 52.0 and overfill["detail"]["max_fill_kg"] == 49.5


def test_a_scrapped_cylinder_is_refused_and_reappears() -> None:
    cmd = RecordFill(CODE, "S1", "F1", AT, 14.0)
    decision = decide.fill(cylinder(status="scrapped"), cmd, [fill.fill_check(fill_ctx(net_mass_kg=14.0))])
    assert rules_of(decision.violations)[:3] == ["LIFECYCLE_INVALID_TRANSITION", "FILL_SCRAPPED",
                                                 "SCRAPPED_CYLINDER_REAPPEARED"]
    assert next(v for v in decision.violations if v.rule == "SCRAPPED_CYLINDER_REAPPEARED").severity == "high"


def test_an_unknown_code_is_a_black_cylinder_at_the_station() -> None:
    cmd = RecordFill(CODE, "S1", "F1", AT, 14.0)
    decision = decide.fill(None, cmd, [fill.fill_check(fill_ctx())])
    (v,) = decision.violations
    assert (v.rule, v.subject, v.detail["company_id"]) == ("FILL_UNKNOWN_CODE", "station:S1", "C1")
    assert decision.events[0].type == "FillRefused"
    # the station's own faults are listed beside it
    expired = fill_ctx(station=StationFacts("S1", "C1", TODAY - D),
                       filler=StaffFacts("F1", "C1", "filler", "C", TODAY - D))
    decision = decide.fill(None, cmd, [fill.fill_check(expired)])
    assert rules_of(decision.violations) == ["FILL_UNKNOWN_CODE", "FILL_STATION_UNLICENSED",
                                             "FILL_FILLER_UNCERTIFIED"]


def test_a_fill_with_only_warnings_is_accepted_with_them_attached() -> None:
    def warn(state: Any, cmd: Any) -> list[Any]:
        return fill.scrapped_reappeared(replace(state, status="scrapped"), fill_ctx().state_context)

    decision = decide.fill(cylinder(), RecordFill(CODE, "S1", "F1", AT, 14.0), [warn])
    assert not decision.refused
    assert decision.events[0].type == "CylinderFilled"
    assert [v["rule"] for v in decision.events[0].data["violations"]] == ["SCRAPPED_CYLINDER_REAPPEARED"]


def test_the_fill_check_is_one_decision_and_records_only_what_a_sighting_proves() -> None:
    """The fill pre-check tells every rule a fill would break (the lifecycle included), the same list a
    fill would be refused with, and records a sighting only of a cylinder that must not be on the market."""
    check = CheckFill(CODE, "S1")
    ctx = fill_ctx(net_mass_kg=None, checks=None, filler=None)
    overdue = cylinder(status="full_in_stock", next_inspection_due=TODAY - D)
    told = decide.fill_check(overdue, check, ctx, AT)
    refused = decide.fill(overdue, RecordFill(CODE, "S1", "F1", AT, 14.0), [fill.fill_check(ctx)])
    assert told.refused and rules_of(told.violations) == rules_of(refused.violations) == [
        "LIFECYCLE_INVALID_TRANSITION", "FILL_OVERDUE_INSPECTION"]
    assert told.events == []
    scrapped = decide.fill_check(cylinder(status="scrapped"), check, ctx, AT)
    (flag,) = scrapped.events
    assert (flag.type, flag.stream_id) == ("FillCheckFlagged", f"cylinder:{CODE}")
    assert [v["rule"] for v in flag.data["violations"]] == ["SCRAPPED_CYLINDER_REAPPEARED"]
    black = decide.fill_check(None, check, ctx, AT)
    (flag,) = black.events
    assert (flag.stream_id, rules_of(black.violations)) == ("station:S1", ["FILL_UNKNOWN_CODE"])
