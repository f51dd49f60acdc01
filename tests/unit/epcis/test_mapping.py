"""Our events read as EPCIS steps, and the bizStep query's event types, from one table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cylinder_trace.domain import events as ev
from cylinder_trace.epcis.mapping import (
    MAPPED_TYPES,
    OUR_VOCAB,
    STEPS,
    biz_steps_for_query,
    object_event,
    query_document,
    step_for,
)
from tests.support import gs1


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


def test_every_word_of_the_export_is_a_term_of_the_gs1_context() -> None:
    """Bare bizStep and disposition words are CBV terms of the official context; others are our URNs;
    every key without our ``ct:`` prefix is a term the context defines."""
    terms = gs1.context_terms()
    for step in STEPS.values():
        for key, word in (("bizStep", step.biz_step), ("disposition", step.disposition)):
            assert word.startswith(f"{OUR_VOCAB}:") or word in terms[key]["@context"], (key, word)
    assert "non_conformant" in terms["disposition"]["@context"]
    moment = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    event = object_event(epc="urn:epc:id:grai:6999999.35500.1", event_id="0" * 8, event_type=ev.CYLINDER_FILLED,
                         data={"station_id": "S1"}, occurred_at=moment, recorded_at=moment, event_hash="0" * 64,
                         timezone="Asia/Shanghai")
    document = query_document([event] if event else [], moment)
    keys = {*document, *document["epcisBody"], *document["epcisBody"]["queryResults"],
            *document["epcisBody"]["queryResults"]["resultsBody"], *(event or {})}
    assert {k for k in keys if not k.startswith(("ct:", "@"))} <= set(terms)
    assert "ct:eventType" in keys and "readPoint" in keys
