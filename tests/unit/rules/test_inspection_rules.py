"""Inspections and scrapping: an unlicensed agency records no inspection; a scrap names its agency."""

from __future__ import annotations

from datetime import timedelta

from cylinder_trace.domain import decide
from cylinder_trace.domain.commands import RecordInspection, ScrapCylinder
from cylinder_trace.domain.cylinder import Owner
from cylinder_trace.domain.rules import inspections
from cylinder_trace.domain.rules.facts import AgencyFacts

from .support import AT, CODE, POLICY, TODAY, cylinder, rules_of

D = timedelta(days=1)


def test_an_agency_licensed_until_today_inspects_today_and_not_tomorrow() -> None:
    agency = AgencyFacts("A1", "JY-1", TODAY)
    assert inspections.agency_unlicensed(agency, TODAY) == []
    (v,) = inspections.agency_unlicensed(agency, TODAY + D)
    assert (v.rule, v.severity, v.subject, v.detail["company_id"]) == (
        "INSPECTION_AGENCY_UNLICENSED", "block", "agency:A1", None)
    assert rules_of(inspections.agency_unlicensed(AgencyFacts("A1", None, TODAY), TODAY)) == [
        "INSPECTION_AGENCY_UNLICENSED"]


def test_an_unlicensed_agencys_inspection_is_refused_and_changes_nothing() -> None:
    state = cylinder(next_inspection_due=TODAY + D, model="YSP118-II", valve_phase="dual")
    cmd = RecordInspection(CODE, "A1", AT, "pass", converted_to_single_phase=True)
    check = inspections.inspection_check(AgencyFacts("A1", "JY-1", TODAY - D), TODAY)
    decision = decide.inspect(state, cmd, POLICY, [check], day=TODAY)
    assert decision.refused and rules_of(decision.violations) == ["INSPECTION_AGENCY_UNLICENSED"]
    (event,) = decision.events
    assert event.type == "InspectionRefused"  # the state folds nothing from a refusal
    licensed = decide.inspect(state, cmd, POLICY, [inspections.inspection_check(AgencyFacts("A1", "JY-1", TODAY),
                                                                                  TODAY)], day=TODAY)
    assert not licensed.refused and licensed.events[0].data["converted_to_single_phase"] is True


def test_a_scrap_naming_no_agency_is_recorded_with_a_finding_on_the_company() -> None:
    cmd = ScrapCylinder(CODE, "报废", AT, company_id="C1")
    decision = decide.scrap(cylinder(), cmd, POLICY, TODAY)
    assert not decision.refused
    (v,) = decision.violations
    assert (v.rule, v.severity, v.subject) == ("SCRAP_NOT_BY_AGENCY", "high", "company:C1")
    assert decision.events[0].data["violations"][0]["rule"] == "SCRAP_NOT_BY_AGENCY"
    assert decide.scrap(cylinder(), ScrapCylinder(CODE, "报废", AT, "C1", agency_id="A1"), POLICY, TODAY
                        ).violations == []
    # a regulator's scrap naming no company: the cylinder's company answers for it
    users = cylinder(owner=Owner(customer_id="U1"), serving_company_id="C2")
    (v,) = decide.scrap(users, ScrapCylinder(CODE, "报废", AT), POLICY, TODAY).violations
    assert (v.subject, v.detail["company_id"]) == ("company:C2", "C2")
    # scrapping a scrapped cylinder is refused by the lifecycle alone: nothing was scrapped
    again = decide.scrap(cylinder(status="scrapped"), cmd, POLICY, TODAY)
    assert rules_of(again.violations) == ["LIFECYCLE_INVALID_TRANSITION"]
