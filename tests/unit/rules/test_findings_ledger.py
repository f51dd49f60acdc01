"""The findings ledger as a pure fold: one unclosed finding per rule and subject, status changes,
and the same history always gives the same ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain.findings import (
    ACTIVE,
    EVENT_FOR_ACTION,
    Head,
    RectificationDeadlines,
    StatusChangeRefused,
    check_status_change,
    finding_id,
    replay,
    summary,
)
from cylinder_trace.domain.rules import catalogue as c
from cylinder_trace.policy import load_policy_book

T0 = datetime(2026, 11, 28, tzinfo=UTC)
DEADLINE = RectificationDeadlines(load_policy_book(), "CN-JL-DAGANGZI", "Asia/Shanghai")


@dataclass(frozen=True)
class Ev:
    position: int
    type: str
    data: dict[str, Any]
    stream_id: str = "s"
    actor: str = "test"
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def occurred_at(self) -> datetime:
        return T0 + timedelta(minutes=self.position)

    @property
    def recorded_at(self) -> datetime:
        return self.occurred_at


def violation(rule: c.Rule, subject: str, **detail: Any) -> dict[str, Any]:
    base = {"code": "X", "due_on": "2026-12-05", "valve_id": "V1", "hours": 72, "kinds": "hose", **detail}
    return rule.at(subject, "C1", **base).to_json()


class History:
    def __init__(self) -> None:
        self.events: list[Ev] = []

    def saw(self, *violations: dict[str, Any]) -> Ev:
        e = Ev(len(self.events) + 1, "FillRefused", {"violations": list(violations)})
        self.events.append(e)
        return e

    def status(self, fid: str, action: str, note: str = "n") -> Ev:
        e = Ev(len(self.events) + 1, EVENT_FOR_ACTION[action], {"finding_id": fid, "note": note},  # type: ignore[index]
               stream_id=f"finding:{fid}")
        self.events.append(e)
        return e


def test_repeats_add_evidence_not_rows() -> None:
    h = History()
    first = h.saw(violation(c.FILL_OVERDUE_INSPECTION, "cylinder:A"))
    second = h.saw(violation(c.FILL_OVERDUE_INSPECTION, "cylinder:A"), violation(c.FILL_SCRAPPED, "cylinder:A"))
    ledger = replay(h.events, DEADLINE)
    assert len(ledger) == 2
    overdue = ledger[finding_id(first.event_id, "FILL_OVERDUE_INSPECTION", "cylinder:A")]
    assert overdue.evidence == (first.event_id, second.event_id) and overdue.status == "open"
    # due 15 days after it opened (a block rule), not on the inspection due date its detail names
    assert overdue.company_id == "C1" and str(overdue.due_on) == "2026-12-13"


def test_the_ledger_severity_of_a_black_cylinder_is_high() -> None:
    h = History()
    h.saw(violation(c.FILL_UNKNOWN_CODE, "station:S1"))
    (f,) = replay(h.events, DEADLINE).values()
    assert (f.rule, f.severity) == ("FILL_UNKNOWN_CODE", "high")


def test_rectify_close_reopen_and_a_repeat_after_closing_opens_a_new_finding() -> None:
    h = History()
    opened = h.saw(violation(c.HAZARD_FOUND, "customer:U1", kinds="hose"))
    fid = finding_id(opened.event_id, "HAZARD_FOUND", "customer:U1")
    h.status(fid, "rectify")
    repeat = h.saw(violation(c.HAZARD_FOUND, "customer:U1", kinds="hose"))
    ledger = replay(h.events, DEADLINE)
    assert ledger[fid].status == "open" and ledger[fid].evidence[-1] == repeat.event_id  # claimed but repeated
    h.status(fid, "rectify")
    h.status(fid, "close")
    again = h.saw(violation(c.HAZARD_FOUND, "customer:U1", kinds="hose"))
    ledger = replay(h.events, DEADLINE)
    assert ledger[fid].status == "closed"
    assert [s for s, _ in ledger[fid].history] == ["open", "rectified", "open", "rectified", "closed"]
    newer = ledger[finding_id(again.event_id, "HAZARD_FOUND", "customer:U1")]
    assert newer.status == "open" and newer.evidence == (again.event_id,)


@pytest.mark.parametrize(("status", "action", "other", "result"), [
    ("open", "rectify", False, "rectified"),
    ("rectified", "close", False, "closed"),
    ("closed", "reopen", False, "open"),
    ("rectified", "reopen", False, "open"),
    ("open", "close", False, None),
    ("closed", "rectify", False, None),
    ("open", "reopen", False, None),
    ("closed", "reopen", True, None),
])
def test_status_transitions(status: str, action: str, other: bool, result: str | None) -> None:
    head = Head("f", status, None)
    if result is None:
        with pytest.raises(StatusChangeRefused):
            check_status_change(head, action, other)  # type: ignore[arg-type]
    else:
        assert check_status_change(head, action, other) == result  # type: ignore[arg-type]


RULES = [c.FILL_OVERDUE_INSPECTION, c.SAFETY_CHECK_MISSING, c.VALVE_OFFLINE]
SUBJECTS = ["cylinder:A", "cylinder:B", "customer:U1"]
step = st.one_of(
    st.tuples(st.just("see"), st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=3)),
    st.tuples(st.sampled_from(["rectify", "close", "reopen"]), st.integers(0, 50)),
)


def build(steps: list[Any]) -> History:
    """A valid history: status changes are only taken where the decision allows them."""
    h = History()
    for kind, arg in steps:
        if kind == "see":
            h.saw(*(violation(RULES[r], SUBJECTS[s]) for r, s in arg))
            continue
        ledger = replay(h.events, DEADLINE)
        if not ledger:
            continue
        f = sorted(ledger.values(), key=lambda f: f.sort_key)[arg % len(ledger)]
        other = any(g.id != f.id and (g.rule, g.subject) == (f.rule, f.subject) and g.status in ACTIVE
                    for g in ledger.values())
        try:
            check_status_change(f.head, kind, other)
        except StatusChangeRefused:
            continue
        h.status(f.id, kind)
    return h


@given(st.lists(step, max_size=25))
def test_replaying_the_same_history_gives_the_same_ledger(steps: list[Any]) -> None:
    h = build(steps)
    first, second = replay(h.events, DEADLINE), replay(list(h.events), DEADLINE)
    assert summary(first) == summary(second)
    # one unclosed finding per rule per subject
    active = [(f.rule, f.subject) for f in first.values() if f.status in ACTIVE]
    assert len(active) == len(set(active))
    # every violation is evidence of exactly one finding
    seen = sum(len(e.data.get("violations", [])) > 0 for e in h.events)
    evidence = {e for f in first.values() for e in f.evidence}
    assert len(evidence) == seen


@pytest.mark.parametrize(("rule", "due"), [
    (c.FILL_OVERDUE_INSPECTION, "2026-12-13"),  # block: 15 days, never the inspection due date in its detail
    (c.SCRAP_NOT_BY_AGENCY, "2026-12-05"),  # high: 7 days
    (c.FILL_UNKNOWN_CODE, "2026-12-05"),  # a block rule whose finding is high: the finding's severity counts
    (c.INSPECTION_DUE_SOON, "2026-12-28"),  # warn: 30 days
    (c.HAZARD_FOUND, "2026-12-01"),  # a hazard keeps its own due date
])
def test_a_findings_due_date_is_its_rectification_deadline(rule: c.Rule, due: str) -> None:
    h = History()
    h.saw(violation(rule, "cylinder:X", due_on="2026-12-01", rectify_by="2026-12-01") if rule is c.HAZARD_FOUND
          else violation(rule, "cylinder:X", due_on="2025-01-01"))
    (f,) = replay(h.events, DEADLINE).values()
    assert f.due_on is not None and f.due_on.isoformat() == due


def test_the_opened_day_is_the_local_day() -> None:
    late = datetime(2026, 11, 28, 16, 30, tzinfo=UTC)  # 00:30 on 29 November in Asia/Shanghai
    assert DEADLINE(late, "high") is not None and str(DEADLINE(late, "high")) == "2026-12-06"
    assert DEADLINE(datetime(2022, 6, 1, tzinfo=UTC), "high") is None  # no policy table covers the day


def test_a_hazard_recorded_before_rectify_by_was_kept_keeps_its_due_on() -> None:
    h = History()
    h.saw(violation(c.HAZARD_FOUND, "customer:U1", due_on="2026-12-03"))
    (f,) = replay(h.events, DEADLINE).values()
    assert f.due_on is not None and f.due_on.isoformat() == "2026-12-03"
