"""Folding a history at once (skipping the states that only count) gives the state step-by-step
application gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain import events as ev
from cylinder_trace.domain.cylinder import CylinderState, apply, fold_onto

REGISTERED: dict[str, Any] = {
    "code": "06901234000016CYL0001", "prefix_length": 7, "serial": "CYL0001", "model": "YSP35.5",
    "manufacturer_code": "M01", "manufactured_on": "2023-05-01", "tare_kg": None, "water_capacity_l": 35.5,
    "owner": {"company_id": "C1"}, "status": "empty_in_stock", "holder": {"kind": "company", "id": "C1"},
    "valve_phase": "single", "registered_on": "2023-09-01", "last_inspected_on": None,
    "next_inspection_due": "2027-05-01", "life_expires_on": "2031-05-01", "serving_company_id": None,
}
STEPS: list[tuple[str, dict[str, Any]]] = [
    (ev.CYLINDER_REGISTERED, REGISTERED),
    (ev.CYLINDER_FILLED, {"station_id": "S1"}),
    (ev.CYLINDER_DELIVERED, {"customer_id": "U1"}),
    (ev.CYLINDER_COLLECTED, {"customer_id": "U1"}),
    (ev.CYLINDER_INSPECTED, {"result": "pass", "inspected_on": "2025-01-02", "next_inspection_due": "2029-01-02",
                             "life_expires_on": "2031-05-01", "agency_id": "A1", "converted_to_single_phase": True}),
    (ev.CYLINDER_INSPECTED, {"result": "fail", "inspected_on": "2025-01-03", "next_inspection_due": "2029-01-02",
                             "life_expires_on": "2031-05-01", "agency_id": "A1"}),
    (ev.SMART_VALVE_FITTED, {"valve_id": "V1"}),
    (ev.CYLINDER_SEIZED, {}),
    (ev.CYLINDER_SCRAPPED, {}),
    (ev.CYLINDER_SWAPPED_OUT, {"company_id": "C2", "day": "2025-02-01"}),
    (ev.CYLINDER_SWAPPED_IN, {"customer_id": "U2"}),
    ("ValveReported", {"type": "opened"}),
    ("FillRefused", {"violations": []}),
    ("SomethingNew", {}),
]


@given(st.lists(st.sampled_from(STEPS), max_size=30), st.booleans())
def test_fold_onto_is_apply_step_by_step(steps: list[tuple[str, dict[str, Any]]], start_registered: bool) -> None:
    start: CylinderState | None = apply(None, ev.CYLINDER_REGISTERED, REGISTERED, 1) if start_registered else None
    first = start.version if start else 0
    history = [(t, d, first + i + 1) for i, (t, d) in enumerate(steps)]
    expected = start
    for t, d, v in history:
        expected = apply(expected, t, d, v)
    assert fold_onto(start, history) == expected
