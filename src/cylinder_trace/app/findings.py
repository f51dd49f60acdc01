"""Reading the findings ledger (隐患台账) and changing a finding's status.

Rectified is claimed by the responsible company with a note; closed (销号) only by a regulator, who
is recorded with the time (谁检查、谁签名、谁负责); a regulator may reopen. Each change is an event on
``finding:<id>``; the ``findings`` projection keeps the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.events import NewEvent
from ..domain.findings import (
    ACTIVE,
    EVENT_FOR_ACTION,
    Action,
    Head,
    StatusChangeRefused,
    check_status_change,
    finding_stream,
)
from ..store.tables import finding_evidence, finding_history, findings
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .principals import Principal
from .unit_of_work import Outcome, Tx

#: the columns of a finding as the API and the exports show it, in order
COLUMNS: Final[tuple[str, ...]] = (
    "id", "rule", "severity", "subject", "company_id", "status", "opened_at", "due_on", "evidence_count",
    "last_evidence_at", "message_zh", "message_en", "status_changed_at", "status_by", "status_note",
)


#: what a finding's subject can be (``cylinder:<code>`` …; DOMAIN.md, Findings ledger)
SubjectKind = Literal["cylinder", "customer", "station", "company", "valve", "report"]
SUBJECT_KINDS: Final[tuple[str, ...]] = get_args(SubjectKind)


@dataclass(frozen=True, slots=True)
class FindingFilter:
    status: str | None = None
    rule: str | None = None
    severity: str | None = None
    company_id: str | None = None
    subject: str | None = None
    #: the kind of subject (``cylinder`` for every ``cylinder:<code>``)
    subject_kind: str | None = None


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def finding_json(row: sa.Row[Any]) -> dict[str, Any]:
    m = row._mapping
    body = {c: _iso(m[c]) for c in COLUMNS}
    body["opened_event_id"] = m["opened_event_id"]
    body["refused"] = bool(m["refused"])
    body["detail"] = m["detail"]
    return body


async def list_findings(conn: AsyncConnection, caller: Principal, flt: FindingFilter, limit: int | None = None,
                        after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """A page of findings in ledger order (oldest first); returns the rows and the next page's key."""
    company = caller.listed_company(flt.company_id, "findings")
    query = sa.select(findings).order_by(findings.c.sort_key)
    for column, value in (("status", flt.status), ("rule", flt.rule), ("severity", flt.severity),
                          ("company_id", company), ("subject", flt.subject)):
        if value is not None:
            query = query.where(findings.c[column] == value)
    if flt.subject_kind is not None:
        if flt.subject_kind not in SUBJECT_KINDS:
            raise InvalidInput("subject_kind", f"must be one of {', '.join(SUBJECT_KINDS)}")
        query = query.where(findings.c.subject.startswith(f"{flt.subject_kind}:"))
    if after is not None:
        query = query.where(findings.c.sort_key > after)
    if limit is not None:
        query = query.limit(limit + 1)
    rows = (await conn.execute(query)).all()
    page = rows[:limit] if limit is not None else rows
    more = limit is not None and len(rows) > limit
    return [finding_json(r) for r in page], (page[-1].sort_key if more and page else None)


async def read_finding(conn: AsyncConnection, caller: Principal, finding_id: str) -> dict[str, Any]:
    row = (await conn.execute(sa.select(findings).where(findings.c.id == finding_id))).first()
    if row is None:
        raise NotFound("finding", finding_id)
    if not caller.can_read_records_of(row.company_id):
        raise Forbidden("this token may read only its own company's findings")
    body = finding_json(row)
    evidence = (await conn.execute(sa.select(finding_evidence).where(finding_evidence.c.finding_id == finding_id)
                                   .order_by(finding_evidence.c.position))).all()
    history = (await conn.execute(sa.select(finding_history).where(finding_history.c.finding_id == finding_id)
                                  .order_by(finding_history.c.position))).all()
    body["evidence"] = [{"event_id": e.event_id, "type": e.type, "stream_id": e.stream_id,
                         "occurred_at": e.occurred_at.isoformat(), "position": e.position} for e in evidence]
    body["evidence_event_ids"] = [e.event_id for e in evidence]
    body["history"] = [{"status": h.status, "action": h.action, "at": h.at.isoformat(), "actor": h.actor,
                        "by": h.by_name, "note": h.note, "event_id": h.event_id} for h in history]
    return body


def may_change(caller: Principal, action: Action, company_id: str | None) -> bool:
    """Whether ``caller`` may take ``action`` on a finding of ``company_id`` (whatever its status)."""
    try:
        _require_actor(caller, action, company_id)
    except Forbidden:
        return False
    return True


def _require_actor(caller: Principal, action: Action, company_id: str | None) -> None:
    if action == "rectify":
        caller.require("admin", "company_admin")
        if caller.role != "admin":
            caller.require_company(company_id)
    else:
        caller.require("regulator")


async def change_status(tx: Tx, finding_id: str, action: Action, note: str, caller: Principal,
                        event_id: str) -> Outcome:
    row = (await tx.conn.execute(sa.select(findings).where(findings.c.id == finding_id))).first()
    if row is None:
        raise NotFound("finding", finding_id)
    _require_actor(caller, action, row.company_id)
    other_active = False
    if action == "reopen":
        other = (await tx.conn.execute(sa.select(findings.c.id).where(
            findings.c.rule == row.rule, findings.c.subject == row.subject, findings.c.status.in_(ACTIVE),
            findings.c.id != finding_id))).first()
        other_active = other is not None
    try:
        status = check_status_change(Head(row.id, row.status, row.due_on), action, other_active)
    except StatusChangeRefused as exc:
        raise Conflict(str(exc)) from None
    stream = finding_stream(finding_id)
    await tx.load_stream(stream)
    data = {"finding_id": finding_id, "rule": row.rule, "subject": row.subject, "note": note,
            "by_name": caller.name, "by_role": caller.role, "by_id": caller.id}
    await tx.record([NewEvent(EVENT_FOR_ACTION[action], data, tx.now, stream)], event_id=event_id,
                    actor=caller.actor)
    return Outcome(200, {"finding_id": finding_id, "action": action, "status": status, "previous_status": row.status,
                         "by": caller.name, "at": tx.now.isoformat(), "note": note, "event_id": event_id})


async def open_findings_by_subject(conn: AsyncConnection, subjects: Sequence[str]) -> dict[str, int]:
    """Unclosed findings per subject (``cylinder:<code>`` …)."""
    if not subjects:
        return {}
    rows = (await conn.execute(
        sa.select(findings.c.subject, sa.func.count()).where(
            findings.c.subject.in_(list(subjects)), findings.c.status.in_(ACTIVE)).group_by(findings.c.subject)
    )).all()
    return {str(r[0]): int(r[1]) for r in rows}


async def open_findings_of_cylinder(conn: AsyncConnection, code: str) -> int:
    return (await open_findings_by_subject(conn, [f"cylinder:{code}"])).get(f"cylinder:{code}", 0)
