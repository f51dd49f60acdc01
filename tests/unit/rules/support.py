"""Plain values for rule tests: the town's policy, a cylinder state, registry facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from cylinder_trace.domain.cylinder import CylinderState, Owner
from cylinder_trace.domain.policy import Policy
from cylinder_trace.domain.rules.delivery import DeliveryContext
from cylinder_trace.domain.rules.facts import (
    CompanyFacts,
    CustomerFacts,
    PremisesFacts,
    StaffFacts,
    StationFacts,
    VehicleFacts,
)
from cylinder_trace.domain.rules.fill import FillContext
from cylinder_trace.policy import load_policy_book

TODAY = date(2026, 11, 28)
POLICY: Policy = load_policy_book().at("CN-JL-DAGANGZI", TODAY)
AT = datetime(2026, 11, 28, 2, tzinfo=UTC)
CODE = "06999999000045CYL1"


def cylinder(**changes: Any) -> CylinderState:
    """A company C1 household cylinder, fillable on TODAY, with a smart valve."""
    base = CylinderState(
        code=CODE, model="YSP35.5", serial="CYL1", manufacturer_code="M", manufactured_on=date(2024, 5, 1),
        owner=Owner(company_id="C1"), status="empty_in_stock", holder=None, valve_phase="single",
        smart_valve_id="V1", registered_on=date(2024, 5, 10), last_inspected_on=None, last_inspection_result=None,
        next_inspection_due=date(2028, 5, 1), life_expires_on=date(2032, 5, 1), version=1,
    )
    return replace(base, **changes)


def fill_ctx(**changes: Any) -> FillContext:
    base = FillContext(
        today=TODAY, policy=POLICY, station=StationFacts("S1", "C1", date(2030, 12, 31)),
        company=CompanyFacts("C1", date(2030, 12, 31)),
        filler=StaffFacts("F1", "C1", "filler", "CERT-F1", date(2030, 12, 31)),
        net_mass_kg=14.5, checks={"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True},
    )
    return replace(base, **changes)


def household(**changes: Any) -> CustomerFacts:
    base = CustomerFacts("U1", "C1", "residential", "张三", "220102199001011234", "13900000000", "幸福街1号")
    return replace(base, **changes)


def restaurant(**premises: bool) -> CustomerFacts:
    p = {"underground": False, "gas_alarm": True, "emergency_shutoff": True, "cylinder_room": False, **premises}
    return CustomerFacts("R1", "C1", "non_residential", "李记饭店", "91220800MA0000000X", "13900000001",
                         "大岗子镇商业街8号", "HT-2026-001", PremisesFacts(**p))


CHECK_OK = {"performed": True, "notice_given": True, "customer_signed": True, "hazards": []}


def delivery_ctx(**changes: Any) -> DeliveryContext:
    base = DeliveryContext(
        today=TODAY, policy=POLICY, customer=household(),
        worker=StaffFacts("D1", "C1", "delivery_worker", "CERT-D1", date(2030, 12, 31)),
        vehicle=VehicleFacts("吉G12345", "C1", "WX-1", date(2030, 12, 31)), safety_check=CHECK_OK,
    )
    return replace(base, **changes)


def rules_of(violations: list[Any]) -> list[str]:
    return [v.rule for v in violations]
