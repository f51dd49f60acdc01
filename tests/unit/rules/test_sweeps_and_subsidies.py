"""Sweep rules on a day, and who earns which subsidy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from cylinder_trace.domain.cylinder import Owner
from cylinder_trace.domain.rules import subsidies, sweeps

from .support import POLICY, TODAY, cylinder, household, restaurant, rules_of

D = timedelta(days=1)
AT_CUSTOMER = {"status": "at_customer", "customer_id": "U1"}


@pytest.mark.parametrize(("changes", "expected"), [
    ({"next_inspection_due": TODAY + timedelta(days=30)}, ["INSPECTION_DUE_SOON"]),
    ({"next_inspection_due": TODAY + timedelta(days=31)}, []),
    ({"next_inspection_due": TODAY}, ["INSPECTION_DUE_SOON"]),
    ({"next_inspection_due": TODAY, "status": "scrapped"}, []),
    ({"next_inspection_due": TODAY - D, **AT_CUSTOMER}, ["OVERDUE_AT_CUSTOMER"]),
    ({"next_inspection_due": TODAY, **AT_CUSTOMER}, ["INSPECTION_DUE_SOON"]),
    # an overdue company cylinder left in stock (empty or full): send it for inspection (未按要求送检)
    ({"next_inspection_due": TODAY - D}, ["STOCK_OVERDUE_INSPECTION"]),
    ({"next_inspection_due": TODAY - D, "status": "full_in_stock"}, ["STOCK_OVERDUE_INSPECTION"]),
    ({"next_inspection_due": TODAY, "status": "full_in_stock"}, ["INSPECTION_DUE_SOON"]),  # due today: not yet
    ({"next_inspection_due": TODAY - D, "status": "unqualified"}, []),
    ({"next_inspection_due": TODAY - D, "status": "seized"}, []),
    ({"life_expires_on": TODAY, **AT_CUSTOMER}, ["LIFE_EXPIRED_AT_CUSTOMER"]),
    ({"life_expires_on": TODAY + D, **AT_CUSTOMER}, []),
])
def test_cylinder_sweep(changes: dict[str, object], expected: list[str]) -> None:
    found = sweeps.cylinder_sweep(cylinder(**changes), TODAY, POLICY)
    assert rules_of(found) == expected
    assert all(v.subject.startswith("cylinder:") and v.detail["company_id"] == "C1" for v in found)


@pytest.mark.parametrize(("customer", "last", "expected"), [
    (restaurant(), date(2026, 11, 1), []),
    (restaurant(), date(2026, 10, 31), ["SAFETY_CHECK_OVERDUE"]),
    (restaurant(), None, ["SAFETY_CHECK_OVERDUE"]),
    (household(), None, []),
])
def test_monthly_check_of_non_residential_customers(customer: object, last: date | None,
                                                    expected: list[str]) -> None:
    found = sweeps.safety_check_overdue(customer, last, TODAY)  # type: ignore[arg-type]
    assert rules_of(found) == expected
    if found:
        assert found[0].subject == "customer:R1" and found[0].detail["month"] == "2026-11"


CUTOFF = date(2023, 9, 30)


@pytest.mark.parametrize(("owner", "day", "before", "amount", "reasons"), [
    (Owner(company_id="C1"), CUTOFF, subsidies.EarnedBefore(), 30, []),
    (Owner(company_id="C1"), CUTOFF - D, subsidies.EarnedBefore(), None, ["before_subsidy_period"]),
    (Owner(company_id="C1"), TODAY, subsidies.EarnedBefore(by_cylinder=("e1",)), None,
     ["cylinder_already_subsidized"]),
    (Owner(company_id="C1"), TODAY, subsidies.EarnedBefore(by_valve=("e2",)), None, ["valve_already_subsidized"]),
    (Owner(company_id="C1"), TODAY, subsidies.EarnedBefore(("e1",), ("e1",)), None,
     ["cylinder_already_subsidized", "valve_already_subsidized"]),
    (Owner(customer_id="U1"), TODAY, subsidies.EarnedBefore(), None, ["not_company_owned"]),
])
def test_smart_valve_subsidy_once_per_valve_and_once_per_cylinder(
        owner: Owner, day: date, before: subsidies.EarnedBefore, amount: int | None, reasons: list[str]) -> None:
    s = subsidies.smart_valve(cylinder(owner=owner), day, POLICY, before)
    if isinstance(s, subsidies.Subsidy):
        assert (s.kind, s.company_id, s.amount_cny, reasons) == ("smart_valve", "C1", amount, [])
        assert subsidies.told({"subsidy": s.to_json()}) == {**s.to_json(), "earned": True}
        return
    assert amount is None
    answer = subsidies.told({"subsidy_withheld": s.to_json()})
    assert answer is not None
    assert (answer["earned"], answer["amount_cny"]) == (False, 0)
    assert [r["code"] for r in answer["reasons"]] == reasons
    assert all(r["zh"] and r["en"] for r in answer["reasons"])
    assert answer["earned_by"] == sorted(set(before.by_cylinder) | set(before.by_valve))


HANDED = {"name": "赵六", "id_number": "220102198001011234", "phone": "13700000000", "address": "幸福街9号"}


EXPIRED = {"manufactured_on": date(2010, 1, 1), "life_expires_on": date(2018, 1, 1)}


@pytest.mark.parametrize(("state", "company", "handed", "day", "amount", "reasons"), [
    ({"owner": Owner(customer_id="U1"), **EXPIRED}, "C1", HANDED, TODAY, 10, []),
    ({"owner": Owner(company_id="C2"), **EXPIRED}, "C1", HANDED, TODAY, 10, []),
    ({"owner": Owner(company_id="C1"), **EXPIRED}, "C1", HANDED, TODAY, None, ["own_fleet"]),
    ({"owner": Owner(customer_id="U1"), **EXPIRED}, "C1", None, TODAY, None, ["no_real_name"]),
    ({"owner": Owner(customer_id="U1"), **EXPIRED}, "C1", {**HANDED, "phone": ""}, TODAY, None, ["no_real_name"]),
    ({"owner": Owner(customer_id="U1"), **EXPIRED}, "C1", HANDED, CUTOFF - D, None, ["before_subsidy_period"]),
    ({"owner": Owner(customer_id="U1"), **EXPIRED}, None, HANDED, TODAY, None, ["no_company"]),
    # a sound cylinder may be scrapped but earns nothing (seed 三(二)3)
    ({"owner": Owner(customer_id="U1")}, "C1", HANDED, TODAY, None, ["sound_cylinder"]),
    ({"owner": Owner(customer_id="U1")}, None, None, TODAY, None, ["no_company", "sound_cylinder", "no_real_name"]),
])
def test_recycling_subsidy(state: dict[str, Any], company: str | None, handed: dict[str, str] | None, day: date,
                           amount: int | None, reasons: list[str]) -> None:
    s = subsidies.recycling(cylinder(**state), company, handed, day, POLICY)
    if isinstance(s, subsidies.Subsidy):
        assert (s.amount_cny, s.basis, reasons) == (amount, "life_expired", [])
    else:
        assert amount is None and [r["code"] for r in s.to_json()["reasons"]] == reasons


@pytest.mark.parametrize(("state", "day", "category"), [
    ({}, TODAY, None),
    (EXPIRED, date(2018, 1, 1), "life_expired"),  # reached on the anniversary itself
    (EXPIRED, date(2017, 12, 31), None),
    ({"status": "unqualified", "last_inspection_result": "fail"}, TODAY, "unqualified"),
    ({"status": "seized", "last_inspection_result": "fail"}, TODAY, "unqualified"),
    ({"model": "YSP118-II", "valve_phase": "dual"}, TODAY, "obsolete"),
    ({"model": "YSP118-II", "valve_phase": "single"}, TODAY, None),  # converted by an agency
    ({"model": "YSP118-II", "valve_phase": "dual", **EXPIRED}, TODAY, "life_expired"),  # the seed's order
])
def test_recycling_category(state: dict[str, Any], day: date, category: str | None) -> None:
    assert subsidies.recycling_category(cylinder(**state), day, POLICY) == category


def test_obsolete_models_are_policy_data() -> None:
    none_obsolete = replace(POLICY, obsolete_models=())
    assert subsidies.recycling_category(cylinder(model="YSP118-II", valve_phase="dual"), TODAY, none_obsolete) is None
    small = replace(POLICY, obsolete_models=("YSP4.7",))
    assert subsidies.recycling_category(cylinder(model="YSP4.7"), TODAY, small) == "obsolete"


def test_missing_real_name_fields_are_named() -> None:
    assert subsidies.missing_hand_in_fields(None) == []
    assert subsidies.missing_hand_in_fields(HANDED) == []
    assert subsidies.missing_hand_in_fields({"name": "赵六", "phone": " "}) == ["id_number", "phone", "address"]


@pytest.mark.parametrize(("hours", "expected"), [(71.9, []), (72, ["VALVE_OFFLINE"]), (200, ["VALVE_OFFLINE"])])
def test_valve_offline(hours: float, expected: list[str]) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 28, 2, tzinfo=UTC)
    found = sweeps.valve_offline("V1", "CODE1", "C1", now - timedelta(hours=hours), now, POLICY)
    assert rules_of(found) == expected
    assert all(v.subject == "cylinder:CODE1" and v.severity == "warn" for v in found)
    assert sweeps.valve_offline("V1", None, "C1", None, now, POLICY) == []
