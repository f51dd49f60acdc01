"""Our events read as EPCIS steps, and the bizStep query's event types, from one table."""

from __future__ import annotations

import pytest

from cylinder_trace.domain import events as ev
from cylinder_trace.epcis.mapping import MAPPED_TYPES, STEPS, biz_steps_for_query, step_for


@pytest.mark.parametrize(("result", "disposition"), [("pass", "conformant"), ("fail", "non_conformant")])
def test_an_inspection_is_conformant_only_when_it_passed(result: str, disposition: str) -> None:
    step = step_for(ev.CYLINDER_INSPECTED, {"result": result})
    assert step is not None and (step.action, step.biz_step, step.disposition) == ("OBSERVE", "inspecting", disposition)


def test_events_that_are_no_physical_step_have_no_reading() -> None:
    for event_type in (ev.SAFETY_CHECK_RECORDED, ev.CYLINDER_SWAPPED_OUT, "FillRefused"):
        assert step_for(event_type, {}) is None
    assert set(MAPPED_TYPES) == set(STEPS)


def test_every_biz_step_queries_back_to_its_event_types() -> None:
    for event_type, step in STEPS.items():
        assert event_type in biz_steps_for_query(step.biz_step)
    assert biz_steps_for_query("commissioning") == [ev.CYLINDER_REGISTERED]
    assert biz_steps_for_query("urn:cylinder-trace:cbv:bizstep:filling") == [ev.CYLINDER_FILLED]
    assert biz_steps_for_query("shipping") == []
