from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain import decide
from cylinder_trace.domain.commands import (
    RecordCollection,
    RecordDelivery,
    RecordFill,
    RecordInspection,
    RegisterCylinder,
    ScrapCylinder,
    SeizeCylinder,
)
from cylinder_trace.domain.cylinder import CylinderState, apply, fold
from cylinder_trace.policy import load_policy_book

POLICY = load_policy_book().at("CN-JL-DAGANGZI", date(2026, 11, 28))
AT = datetime(2026, 11, 28, 2, tzinfo=UTC)
CODE = "06999999000045CYL1"


def registered(**overrides: object) -> CylinderState:
    cmd = RegisterCylinder(code=CODE, prefix_length=7, serial="CYL1", model="YSP35.5", manufacturer_code="M",
                           manufactured_on=date(2024, 5, 1), owner_company_id="C1", owner_customer_id=None,
                           last_inspected_on=None, tare_kg=15.0, occurred_at=AT)
    for key, value in overrides.items():
        object.__setattr__(cmd, key, value)
    (event,) = decide.register(cmd, POLICY).events
    state = apply(None, event.type, event.data, 1)
    assert state is not None
    return state


def step(state: CylinderState, decision: decide.Decision) -> CylinderState:
    new = state
    for i, e in enumerate(decision.events, start=1):
        new = apply(new, e.type, e.data, state.version + i) or new
    return new


ACTIONS = {
    "fill": lambda s: decide.fill(s, RecordFill(CODE, "S1", "F1", AT, 14.0)),
    "deliver": lambda s: decide.deliver(s, RecordDelivery(CODE, "U1", "D1", AT)),
    "collect": lambda s: decide.collect(s, RecordCollection(CODE, "U1", "D1", AT)),
    "inspect_pass": lambda s: decide.inspect(s, RecordInspection(CODE, "A1", AT, "pass"), POLICY),
    "inspect_fail": lambda s: decide.inspect(s, RecordInspection(CODE, "A1", AT, "fail"), POLICY),
    "seize": lambda s: decide.seize(s, SeizeCylinder(CODE, "illegal", AT)),
    "scrap": lambda s: decide.scrap(s, ScrapCylinder(CODE, "old", AT), POLICY, AT.date()),
}
#: status → {action: next status} for the allowed moves (DOMAIN.md lifecycle table)
ALLOWED = {
    "empty_in_stock": {"fill": "full_in_stock", "inspect_pass": "empty_in_stock", "inspect_fail": "unqualified",
                       "seize": "seized", "scrap": "scrapped"},
    "full_in_stock": {"deliver": "at_customer", "seize": "seized", "scrap": "scrapped"},
    "at_customer": {"collect": "empty_in_stock", "seize": "seized", "scrap": "scrapped"},
    "unqualified": {"seize": "seized", "scrap": "scrapped"},
    "seized": {"seize": "seized", "scrap": "scrapped"},
    "scrapped": {},
}


def test_registration_computes_due_dates_from_policy() -> None:
    state = registered()
    assert state.status == "empty_in_stock"
    assert state.next_inspection_due == date(2028, 5, 1)
    assert state.life_expires_on == date(2032, 5, 1)
    old = registered(manufactured_on=date(2005, 1, 1))
    assert old.life_expires_on == date(2020, 1, 1)


def test_customer_owned_cylinder_is_registered_at_the_customer() -> None:
    state = registered(owner_company_id=None, owner_customer_id="U9")
    assert state.status == "at_customer" and state.holder is not None and state.holder.id == "U9"


@given(st.lists(st.sampled_from(sorted(ACTIONS)), max_size=25))
def test_state_machine_allows_exactly_the_table(actions: list[str]) -> None:
    state = registered()
    for action in actions:
        decision = ACTIONS[action](state)
        expected = ALLOWED[state.status].get(action)
        if expected is None:
            assert decision.refused
            rules = [v.rule for v in decision.violations]
            assert rules == ["LIFECYCLE_INVALID_TRANSITION"]
            assert decision.violations[0].detail["current_state"] == state.status
            assert decision.events[0].type.endswith("Refused")
            assert step(state, decision).status == state.status
        else:
            assert not decision.refused
            state = step(state, decision)
            assert state.status == expected


def test_passing_inspection_resets_due_date_and_can_convert_dual_phase() -> None:
    state = registered(model="YSP118-II")
    assert state.valve_phase == "dual"
    at = datetime(2027, 3, 1, tzinfo=UTC)
    decision = decide.inspect(state, RecordInspection(CODE, "A1", at, "pass", True), POLICY)
    after = step(state, decision)
    assert after.valve_phase == "single"
    assert after.next_inspection_due == date(2031, 3, 1)


def test_nothing_after_scrapping() -> None:
    state = step(registered(), ACTIONS["scrap"](registered()))
    for action in ACTIONS:
        assert ACTIONS[action](state).refused


def test_replay_is_deterministic() -> None:
    state = registered()
    history = [("CylinderRegistered", decide.register(
        RegisterCylinder(CODE, 7, "CYL1", "YSP35.5", "M", date(2024, 5, 1), "C1", None, None, 15.0, AT),
        POLICY).events[0].data, 1)]
    assert fold(history) == fold(list(history)) == state


@pytest.mark.parametrize("leap", [date(2024, 2, 29)])
def test_anniversary_of_29_february(leap: date) -> None:
    state = registered(manufactured_on=leap)
    assert state.next_inspection_due == date(2028, 2, 29)
    assert state.life_expires_on == date(2032, 2, 29)


def test_in_service_since_defaults_to_the_registration_day_or_for_the_existing_fleet_to_manufacture() -> None:
    at = datetime(2026, 11, 28, 2, tzinfo=UTC)
    cmd = RegisterCylinder("06999999000045CYL1", 7, "CYL1", "YSP35.5", "M", date(2020, 6, 1), "C1", None, None,
                           None, at)
    day = date(2026, 11, 28)
    assert decide.in_service_since(cmd, day) == day
    assert decide.in_service_since(replace(cmd, existing_fleet=True), day) == date(2020, 6, 1)
    given = replace(cmd, existing_fleet=True, in_service_since=date(2024, 1, 1))
    event = decide.register(given, POLICY, day).events[0]
    state = apply(None, event.type, event.data, 1)
    assert state is not None and state.in_service_since == date(2024, 1, 1) and state.registered_on == day
