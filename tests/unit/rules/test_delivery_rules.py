"""Delivery and customer rules (DOMAIN.md, Delivery and customers), trigger and nearest non-trigger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from cylinder_trace.domain import decide
from cylinder_trace.domain.commands import RecordDelivery
from cylinder_trace.domain.rules import delivery as d
from cylinder_trace.domain.rules.facts import HazardFacts, StaffFacts, VehicleFacts

from .support import AT, CHECK_OK, CODE, POLICY, TODAY, cylinder, delivery_ctx, household, restaurant, rules_of

D = timedelta(days=1)
FULL = {"status": "full_in_stock"}
NO_CHECK = {"performed": False, "notice_given": False, "customer_signed": False, "hazards": []}

ROWS: list[tuple[Callable[..., Any], dict[str, Any], dict[str, Any], list[str]]] = [
    (d.no_real_name, {}, {"customer": household(id_number=None)}, ["DELIVERY_NO_REAL_NAME"]),
    (d.no_real_name, {}, {"customer": household(phone="")}, ["DELIVERY_NO_REAL_NAME"]),
    (d.no_real_name, {}, {"customer": household()}, []),
    (d.no_contract, {}, {"customer": replace(restaurant(), contract_no=None)}, ["DELIVERY_NO_CONTRACT"]),
    (d.no_contract, {}, {"customer": restaurant()}, []),
    (d.no_contract, {}, {"customer": household(contract_no=None)}, []),
    (d.worker_uncertified, {}, {"worker": StaffFacts("D1", "C1", "delivery_worker", "C", TODAY)}, []),
    (d.worker_uncertified, {}, {"worker": StaffFacts("D1", "C1", "delivery_worker", "C", TODAY - D)},
     ["DELIVERY_WORKER_UNCERTIFIED"]),
    (d.worker_uncertified, {}, {"worker": StaffFacts("D9", "C2", "delivery_worker", "C", TODAY)},
     ["DELIVERY_WORKER_UNCERTIFIED"]),
    (d.vehicle_unpermitted, {}, {"vehicle": VehicleFacts("吉G1", "C1", "WX", TODAY)}, []),
    (d.vehicle_unpermitted, {}, {"vehicle": VehicleFacts("吉G1", "C1", "WX", TODAY - D)},
     ["DELIVERY_VEHICLE_UNPERMITTED"]),
    (d.vehicle_unpermitted, {}, {"vehicle": None}, []),
    (d.self_pickup, {}, {"worker": StaffFacts("F1", "C1", "filler", "C", TODAY)}, ["DELIVERY_SELF_PICKUP"]),
    (d.self_pickup, {}, {}, []),
    # a hazard due today still allows supply today; from tomorrow supply stops
    (d.supply_suspended, {}, {"hazards": (HazardFacts("h", "open", TODAY),)}, []),
    (d.supply_suspended, {}, {"hazards": (HazardFacts("h", "open", TODAY - D),)}, ["DELIVERY_SUPPLY_SUSPENDED"]),
    (d.supply_suspended, {}, {"hazards": (HazardFacts("h", "rectified", TODAY - D),)}, []),
    (d.supply_suspended, {}, {"hazards": (HazardFacts("h", "open", TODAY + D, refused=True),)},
     ["DELIVERY_SUPPLY_SUSPENDED"]),
    (d.no_gas_alarm, {}, {"customer": restaurant(gas_alarm=False)}, ["DELIVERY_NO_GAS_ALARM"]),
    (d.no_gas_alarm, {}, {"customer": restaurant(gas_alarm=True)}, []),
    (d.no_emergency_shutoff, {}, {"customer": restaurant(emergency_shutoff=False)},
     ["DELIVERY_NO_EMERGENCY_SHUTOFF"]),
    (d.no_emergency_shutoff, {}, {"customer": restaurant(emergency_shutoff=True)}, []),
    (d.no_emergency_shutoff, {}, {"customer": household()}, []),  # residential premises: not required
    (d.underground, {}, {"customer": restaurant(underground=True)}, ["DELIVERY_UNDERGROUND"]),
    (d.underground, {}, {"customer": restaurant()}, []),
    (d.dual_phase, {"model": "YSP118-II", "valve_phase": "dual"}, {}, ["DELIVERY_DUAL_PHASE"]),
    (d.dual_phase, {"model": "YSP118-II", "valve_phase": "single"}, {}, []),
    # 49.5 + 49.5 = 99 kg ≤ 100; a third 50 kg cylinder would make 148.5 kg
    (d.storage_over_limit, {"model": "YSP118"}, {"customer": restaurant(), "held_models": ("YSP118",)}, []),
    (d.storage_over_limit, {"model": "YSP118"},
     {"customer": restaurant(), "held_models": ("YSP118", "YSP118")}, ["DELIVERY_STORAGE_OVER_100KG"]),
    (d.storage_over_limit, {"model": "YSP118"},
     {"customer": restaurant(cylinder_room=True), "held_models": ("YSP118", "YSP118")}, []),
    (d.not_fillable, {**FULL, "next_inspection_due": TODAY}, {}, []),
    (d.not_fillable, {**FULL, "next_inspection_due": TODAY - D}, {}, ["DELIVERY_NOT_FILLABLE"]),
    (d.not_fillable, {**FULL, "life_expires_on": TODAY}, {}, ["DELIVERY_NOT_FILLABLE"]),
    (d.not_fillable, {"status": "seized"}, {}, ["DELIVERY_NOT_FILLABLE"]),
    (d.safety_check_missing, {}, {"safety_check": NO_CHECK}, ["SAFETY_CHECK_MISSING"]),
    (d.safety_check_missing, {}, {"safety_check": None}, ["SAFETY_CHECK_MISSING"]),
    (d.safety_check_missing, {}, {"safety_check": {"performed": True, "notice_given": False}},
     ["SAFETY_CHECK_MISSING"]),
    (d.safety_check_missing, {}, {}, []),
    (d.safety_check_missing, {}, {"customer": restaurant(), "safety_check": None}, []),
    (d.delivery_hazards, {}, {"safety_check": {"performed": True, "hazards": [{"kind": "hose_aged"}]}},
     ["HAZARD_FOUND"]),
    (d.delivery_hazards, {}, {}, []),
]


@pytest.mark.parametrize(("rule", "state_changes", "ctx_changes", "expected"), ROWS,
                         ids=[f"{r[0].__name__}-{i}" for i, r in enumerate(ROWS)])
def test_delivery_rule(rule: Callable[..., Any], state_changes: dict[str, Any], ctx_changes: dict[str, Any],
                       expected: list[str]) -> None:
    found = rule(cylinder(**{**FULL, **state_changes}), delivery_ctx(**ctx_changes))
    assert rules_of(found) == expected
    for v in found:
        assert v.message_zh and v.message_en and v.detail["company_id"] == "C1"


def test_customer_rules_name_the_customer_and_staff_rules_the_company() -> None:
    ctx = delivery_ctx(customer=restaurant(gas_alarm=False, underground=True),
                       worker=StaffFacts("D1", "C1", "delivery_worker", "C", TODAY - D))
    found = d.delivery_violations(cylinder(**FULL), ctx)
    subjects = {v.rule: v.subject for v in found}
    assert subjects == {"DELIVERY_NO_GAS_ALARM": "customer:R1", "DELIVERY_UNDERGROUND": "customer:R1",
                        "DELIVERY_WORKER_UNCERTIFIED": "company:C1"}


def test_hazards_are_due_after_the_policy_days() -> None:
    (v,) = d.hazards_found(household(), [{"kind": "no_shutoff"}], date(2026, 11, 28), POLICY)
    assert v.severity == "high" and v.detail["due_on"] == "2026-12-05"
    (refused,) = d.hazards_found(household(), [{"kind": d.REFUSED_TO_RECTIFY}], TODAY, POLICY)
    assert refused.detail["refused"] is True


def test_an_empty_dual_phase_delivery_reports_both_rules() -> None:
    state = cylinder(model="YSP118-II", valve_phase="dual", status="empty_in_stock")
    cmd = RecordDelivery(CODE, "U1", "D1", AT, "吉G12345", CHECK_OK)
    decision = decide.deliver(state, cmd, [d.delivery_check(delivery_ctx())])
    assert decision.refused
    assert {"LIFECYCLE_INVALID_TRANSITION", "DELIVERY_DUAL_PHASE"} <= set(rules_of(decision.violations))
    assert decision.events[0].type == "DeliveryRefused"


def test_a_restaurant_refusal_lists_every_premises_rule() -> None:
    ctx = delivery_ctx(customer=restaurant(gas_alarm=False, underground=True), held_models=("YSP118", "YSP118"),
                       safety_check=None)
    cmd = RecordDelivery(CODE, "R1", "D1", AT)
    decision = decide.deliver(cylinder(model="YSP118", **FULL), cmd, [d.delivery_check(ctx)])
    assert rules_of(decision.violations) == ["DELIVERY_NO_GAS_ALARM", "DELIVERY_UNDERGROUND",
                                             "DELIVERY_STORAGE_OVER_100KG"]
    assert decision.violations[2].detail["total_kg"] == 148.5


def test_a_residential_delivery_without_a_check_is_accepted_with_a_high_warning() -> None:
    decision = decide.deliver(cylinder(**FULL), RecordDelivery(CODE, "U1", "D1", AT),
                              [d.delivery_check(delivery_ctx(safety_check=None))])
    assert not decision.refused
    assert [v["rule"] for v in decision.events[0].data["violations"]] == ["SAFETY_CHECK_MISSING"]
