"""The findings ledger (隐患台账), as pure steps over events (DOMAIN.md, Findings ledger).

* Any event whose data carries ``violations`` (a refusal, an accepted action with non-blocking
  violations, a sweep, a valve report, a public report) is evidence: each violation opens a finding,
  or — when its rule already has an unclosed finding on the same subject — adds evidence to it. A
  repeat on a finding the company claimed rectified sends it back to ``open``.
* Status changes are events on ``finding:<id>``: rectified (by the responsible company, with a note),
  closed (销号, regulator only: who and when), reopened (regulator).

The projection (``projections/findings.py``) and :func:`replay` run the same steps, so rebuilding the
ledger from zero gives the same findings, ids included (an id is derived from the opening event).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Final, Literal, Protocol

from .dates import local_day
from .policy import NoPolicy, PolicyBook
from .rules.catalogue import HAZARD_FOUND, ledger_severity

Status = Literal["open", "rectified", "closed"]
Action = Literal["rectify", "close", "reopen"]

#: an unclosed finding: repeats of its rule on its subject add evidence to it
ACTIVE: Final = frozenset({"open", "rectified"})

FINDING_RECTIFIED: Final = "FindingRectified"
FINDING_CLOSED: Final = "FindingClosed"
FINDING_REOPENED: Final = "FindingReopened"
STATUS_EVENTS: Final[dict[str, tuple[Action, Status]]] = {
    FINDING_RECTIFIED: ("rectify", "rectified"),
    FINDING_CLOSED: ("close", "closed"),
    FINDING_REOPENED: ("reopen", "open"),
}
EVENT_FOR_ACTION: Final[dict[Action, str]] = {a: t for t, (a, _) in STATUS_EVENTS.items()}

#: action → (statuses it is allowed from, who may take it)
TRANSITIONS: Final[dict[Action, tuple[frozenset[str], str]]] = {
    "rectify": (frozenset({"open"}), "the responsible company"),
    "close": (frozenset({"rectified"}), "a regulator"),
    "reopen": (frozenset({"rectified", "closed"}), "a regulator"),
}

_NAMESPACE: Final = uuid.UUID("6f1c3c52-8f7e-4d53-9a50-2b3c0a7d9e11")


def finding_stream(finding_id: str) -> str:
    return f"finding:{finding_id}"


def finding_id(opening_event_id: str, rule: str, subject: str) -> str:
    """Stable across rebuilds: derived from the event that opened it and what it is about."""
    return str(uuid.uuid5(_NAMESPACE, f"{opening_event_id}|{rule}|{subject}"))


class EventLike(Protocol):
    @property
    def position(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


def violations_in(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The violations an event carries as evidence (well-formed ones only)."""
    raw = data.get("violations")
    if not isinstance(raw, list):
        return []
    return [v for v in raw if isinstance(v, Mapping) and v.get("rule") and v.get("subject")]


@dataclass(frozen=True, slots=True)
class Evidence:
    event_id: str
    position: int
    type: str
    stream_id: str
    occurred_at: datetime

    @staticmethod
    def of(event: EventLike) -> Evidence:
        return Evidence(event.event_id, event.position, event.type, event.stream_id, event.occurred_at)


@dataclass(frozen=True, slots=True)
class Head:
    """What a step needs to know of an existing finding."""

    id: str
    status: str
    due_on: date | None


@dataclass(frozen=True, slots=True)
class Opened:
    finding_id: str
    rule: str
    severity: str
    subject: str
    company_id: str | None
    due_on: date | None
    refused: bool
    message_zh: str
    message_en: str
    detail: dict[str, Any]
    evidence: Evidence
    sort_key: str


@dataclass(frozen=True, slots=True)
class EvidenceAdded:
    finding_id: str
    evidence: Evidence
    #: the company had claimed it rectified: the repeat sends it back to open
    reopened: bool
    #: a due date the finding lacked (else None: the first due date stands)
    due_on: date | None
    refused: bool


@dataclass(frozen=True, slots=True)
class StatusChanged:
    finding_id: str
    action: Action
    status: Status
    event_id: str
    position: int
    at: datetime
    actor: str
    by_name: str | None
    note: str | None


#: a finding's rectification deadline from when it opened and its severity (None: no policy covers the day)
Deadline = Callable[[datetime, str], date | None]


@dataclass(frozen=True, slots=True)
class RectificationDeadlines:
    """The due date of a finding (整改期限): the local day it opened plus the policy's ``rectification_days``
    for its severity, by the policy table in force on that day."""

    policy_book: PolicyBook
    jurisdiction: str
    timezone: str = "Asia/Shanghai"

    def __call__(self, opened_at: datetime, severity: str) -> date | None:
        day = local_day(opened_at, self.timezone)
        try:
            return self.policy_book.at(self.jurisdiction, day).rectify_by(day, severity)
        except NoPolicy:
            return None


def own_due(rule: str, detail: Mapping[str, Any]) -> date | None:
    """A deadline the violation sets itself: a hazard found in a safety check keeps its hazard due date
    (``rectify_by``; ``due_on`` in hazards recorded before). Any other ``due_on`` in a detail is a fact about
    the subject (an inspection due date), never the finding's deadline."""
    raw = detail.get("rectify_by") or (detail.get("due_on") if rule == HAZARD_FOUND.code else None)
    return date.fromisoformat(raw) if isinstance(raw, str) else None


def sort_key(position: int, index: int) -> str:
    return f"{position:016d}.{index:04d}"


def on_violation(active: Head | None, v: Mapping[str, Any], event: EventLike, index: int, deadline: Deadline
                 ) -> Opened | EvidenceAdded:
    """One violation of one event: open a finding (due by its own deadline, else ``deadline``), or add
    evidence to the unclosed one (its first due date stands)."""
    detail = dict(v.get("detail") or {})
    evidence = Evidence.of(event)
    refused = detail.get("refused") is True
    rule, subject = str(v["rule"]), str(v["subject"])
    if active is not None:
        new_due = own_due(rule, detail) if active.due_on is None else None
        return EvidenceAdded(active.id, evidence, active.status == "rectified", new_due, refused)
    company = detail.get("company_id")
    severity = ledger_severity(rule, v.get("severity", "warn"))
    return Opened(
        finding_id=finding_id(event.event_id, rule, subject), rule=rule,
        severity=severity, subject=subject, company_id=str(company) if company else None,
        due_on=own_due(rule, detail) or deadline(event.occurred_at, severity), refused=refused,
        message_zh=str(v.get("message_zh", "")), message_en=str(v.get("message_en", "")), detail=detail,
        evidence=evidence, sort_key=sort_key(event.position, index),
    )


def on_status_event(event: EventLike) -> StatusChanged | None:
    step = STATUS_EVENTS.get(event.type)
    if step is None:
        return None
    action, status = step
    d = event.data
    return StatusChanged(str(d["finding_id"]), action, status, event.event_id, event.position, event.occurred_at,
                         event.actor, d.get("by_name"), d.get("note"))


class StatusChangeRefused(Exception):
    """A status change that the finding's current status does not allow."""


def check_status_change(head: Head, action: Action, other_active: bool = False) -> Status:
    """The status ``action`` leads to, or :class:`StatusChangeRefused` saying why not."""
    allowed, _ = TRANSITIONS[action]
    if head.status not in allowed:
        raise StatusChangeRefused(
            f"finding {head.id} is {head.status}: '{action}' is allowed only from {', '.join(sorted(allowed))}")
    if action == "reopen" and other_active:
        raise StatusChangeRefused(
            f"finding {head.id} cannot be reopened: a newer finding of the same rule on the same subject is open")
    return STATUS_EVENTS[EVENT_FOR_ACTION[action]][1]


# --- the pure fold ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    rule: str
    severity: str
    subject: str
    company_id: str | None
    status: str
    opened_at: datetime
    due_on: date | None
    refused: bool
    sort_key: str
    evidence: tuple[str, ...]
    history: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def head(self) -> Head:
        return Head(self.id, self.status, self.due_on)


def replay(events: Iterable[EventLike], deadline: Deadline) -> dict[str, Finding]:
    """The whole ledger folded from events in order, without a database."""
    ledger: dict[str, Finding] = {}
    active: dict[tuple[str, str], str] = {}
    for event in events:
        for index, v in enumerate(violations_in(event.data)):
            key = (str(v["rule"]), str(v["subject"]))
            current = ledger.get(active.get(key, ""))
            step = on_violation(current.head if current else None, v, event, index, deadline)
            if isinstance(step, Opened):
                ledger[step.finding_id] = Finding(
                    step.finding_id, step.rule, step.severity, step.subject, step.company_id, "open",
                    event.occurred_at, step.due_on, step.refused, step.sort_key, (step.evidence.event_id,),
                    (("open", event.event_id),))
                active[key] = step.finding_id
            else:
                assert current is not None
                ledger[current.id] = _with_evidence(current, step)
        change = on_status_event(event)
        if change is not None and change.finding_id in ledger:
            f = ledger[change.finding_id]
            ledger[f.id] = replace(f, status=change.status, history=(*f.history, (change.status, change.event_id)))
            key = (f.rule, f.subject)
            if change.status == "closed" and active.get(key) == f.id:
                del active[key]
            elif change.status == "open":
                active[key] = f.id
    return ledger


def _with_evidence(f: Finding, step: EvidenceAdded) -> Finding:
    if step.evidence.event_id in f.evidence:
        return f
    status = "open" if step.reopened else f.status
    history = (*f.history, ("open", step.evidence.event_id)) if step.reopened else f.history
    return replace(f, evidence=(*f.evidence, step.evidence.event_id), status=status,
                   due_on=f.due_on or step.due_on, refused=f.refused or step.refused, history=history)


def summary(ledger: Mapping[str, Finding]) -> Sequence[tuple[str, str, str, str, tuple[str, ...]]]:
    """A comparable view of a ledger (id, rule, subject, status, evidence), in ledger order."""
    return [(f.id, f.rule, f.subject, f.status, f.evidence) for f in sorted(ledger.values(), key=lambda f: f.sort_key)]
