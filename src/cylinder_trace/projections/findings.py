"""The findings ledger as a catch-up projection: the steps of ``domain/findings.py`` kept in tables.

A batch of events is folded in memory: the unclosed findings its violations are about are read with
one query, each violation opens a finding or adds evidence to the unclosed one (in event order, so a
finding opened early in the batch takes the evidence of later events), status events move findings,
and the rows are written back with one statement per table.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.findings import (
    ACTIVE,
    Deadline,
    EvidenceAdded,
    Head,
    Opened,
    StatusChanged,
    on_status_event,
    on_violation,
    violations_in,
)
from ..store.db import Write, any_of, write_together
from ..store.event_store import RecordedEvent
from ..store.tables import finding_evidence, finding_history, findings

Key = tuple[str, str]


async def active_heads(conn: AsyncConnection, keys: Iterable[Key]) -> dict[Key, Head]:
    """The unclosed finding of each ``(rule, subject)`` that has one (the newest, should there be two)."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = await conn.execute(
        sa.select(findings.c.id, findings.c.rule, findings.c.subject, findings.c.status, findings.c.due_on)
        .where(any_of(conn, findings.c.subject, sorted({s for _, s in wanted})),
               any_of(conn, findings.c.rule, sorted({r for r, _ in wanted})),
               findings.c.status.in_(ACTIVE))
        .order_by(findings.c.sort_key))
    return {(r.rule, r.subject): Head(r.id, r.status, r.due_on) for r in rows if (r.rule, r.subject) in wanted}


async def open_findings_of(conn: AsyncConnection, rules: Iterable[str]) -> set[Key]:
    """``(rule, subject)`` of every unclosed finding of ``rules`` (one query, on the rule's index)."""
    wanted = sorted(set(rules))
    if not wanted:
        return set()
    rows = await conn.execute(sa.select(findings.c.rule, findings.c.subject).where(
        any_of(conn, findings.c.rule, wanted), findings.c.status.in_(ACTIVE)))
    return {(r.rule, r.subject) for r in rows}


async def active_head(conn: AsyncConnection, rule: str, subject: str) -> Head | None:
    return (await active_heads(conn, [(rule, subject)])).get((rule, subject))


@dataclass
class _Row:
    """A finding as the batch leaves it; ``values`` are the columns to write."""

    values: dict[str, Any]
    new: bool
    evidence: set[str] = field(default_factory=set)
    changed: bool = False


@dataclass
class _Fold:
    rows: dict[str, _Row] = field(default_factory=dict)
    active: dict[Key, str | None] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def head(self, key: Key) -> Head | None:
        finding = self.active.get(key)
        if finding is None:
            return None
        v = self.rows[finding].values
        return Head(finding, v["status"], v["due_on"])

    def open(self, step: Opened, event: RecordedEvent) -> None:
        self.rows[step.finding_id] = _Row({
            "id": step.finding_id, "rule": step.rule, "severity": step.severity, "subject": step.subject,
            "company_id": step.company_id, "status": "open", "opened_at": event.occurred_at,
            "opened_event_id": event.event_id, "sort_key": step.sort_key, "due_on": step.due_on,
            "refused": step.refused, "evidence_count": 1, "last_evidence_at": event.occurred_at,
            "message_zh": step.message_zh, "message_en": step.message_en, "detail": step.detail,
            "status_changed_at": None, "status_by": None, "status_note": None,
        }, new=True, evidence={event.event_id})
        self.active[(step.rule, step.subject)] = step.finding_id
        self._evidence(step.finding_id, event)
        self._history(step.finding_id, event.event_id, event.position, "open", "open", event.occurred_at,
                      event.actor, None, None)

    def add_evidence(self, step: EvidenceAdded, event: RecordedEvent) -> None:
        row = self.rows[step.finding_id]
        if event.event_id in row.evidence:
            return
        row.evidence.add(event.event_id)
        row.changed = True
        v = row.values
        v["evidence_count"] += 1
        v["last_evidence_at"] = event.occurred_at
        if step.due_on is not None:
            v["due_on"] = step.due_on
        if step.refused:
            v["refused"] = True
        self._evidence(step.finding_id, event)
        if step.reopened:
            note = "repeated after rectification"
            v.update(status="open", status_changed_at=event.occurred_at, status_by=event.actor, status_note=note)
            self._history(step.finding_id, event.event_id, event.position, "open", "repeat", event.occurred_at,
                          event.actor, None, note)

    def change_status(self, change: StatusChanged) -> None:
        row = self.rows.get(change.finding_id)
        if row is None:
            return
        row.changed = True
        v = row.values
        v.update(status=change.status, status_changed_at=change.at, status_by=change.by_name or change.actor,
                 status_note=change.note)
        key = (v["rule"], v["subject"])
        if change.status in ACTIVE:
            self.active[key] = change.finding_id
        elif self.active.get(key) == change.finding_id:
            self.active[key] = None
        self._history(change.finding_id, change.event_id, change.position, change.status, change.action, change.at,
                      change.actor, change.by_name, change.note)

    def _evidence(self, finding_id: str, event: RecordedEvent) -> None:
        self.evidence.append({"finding_id": finding_id, "event_id": event.event_id, "position": event.position,
                              "type": event.type, "stream_id": event.stream_id, "occurred_at": event.occurred_at})

    def _history(self, finding_id: str, event_id: str, position: int, status: str, action: str, at: Any,
                 actor: str, by_name: str | None, note: str | None) -> None:
        self.history.append({"finding_id": finding_id, "event_id": event_id, "position": position,
                             "status": status, "action": action, "at": at, "actor": actor, "by_name": by_name,
                             "note": note})


async def _load(conn: AsyncConnection, fold: _Fold, keys: set[Key], ids: set[str]) -> None:
    heads = await active_heads(conn, keys)
    fold.active.update({k: heads[k].id if k in heads else None for k in keys})
    wanted = sorted(ids | {h.id for h in heads.values()})
    if not wanted:
        return
    rows = (await conn.execute(sa.select(findings).where(any_of(conn, findings.c.id, wanted)))).all()
    for r in rows:
        fold.rows[r.id] = _Row(dict(r._mapping), new=False)
    if fold.rows:  # evidence already held (a repeat of an event is not evidence twice)
        held = await conn.execute(sa.select(finding_evidence.c.finding_id, finding_evidence.c.event_id).where(
            any_of(conn, finding_evidence.c.finding_id, sorted(fold.rows))))
        for finding_id, event_id in held:
            fold.rows[finding_id].evidence.add(event_id)


class FindingsProjection:
    """``deadline``: a finding's due date from when it opened and its severity (``RectificationDeadlines``)."""

    name = "findings"

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (findings, finding_evidence, finding_history)

    def writes(self, events: Sequence[RecordedEvent], known: MutableMapping[str, Any]) -> list[Write] | None:
        """Nothing to write for events that carry no violation and change no finding's status; others are
        folded with the findings they concern, read first."""
        concerned = any(violations_in(e.data) or on_status_event(e) is not None for e in events)
        return None if concerned else []

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent],
                           known: MutableMapping[str, Any] | None = None) -> None:
        steps: list[tuple[RecordedEvent, list[Any], StatusChanged | None]] = []
        keys: set[Key] = set()
        ids: set[str] = set()
        for event in events:
            found = violations_in(event.data)
            change = on_status_event(event)
            if not found and change is None:
                continue
            steps.append((event, found, change))
            keys.update((str(v["rule"]), str(v["subject"])) for v in found)
            if change is not None:
                ids.add(change.finding_id)
        if not steps:
            return
        fold = _Fold()
        await _load(conn, fold, keys, ids)
        for event, found, change in steps:
            for index, v in enumerate(found):
                step = on_violation(fold.head((str(v["rule"]), str(v["subject"]))), v, event, index, self.deadline)
                if isinstance(step, Opened):
                    fold.open(step, event)
                else:
                    fold.add_evidence(step, event)
            if change is not None:
                fold.change_status(change)
        await self._write(conn, fold)

    @staticmethod
    async def _write(conn: AsyncConnection, fold: _Fold) -> None:
        # new findings, their evidence and history in one statement (a first sweep opens hundreds of thousands)
        await write_together(conn, [Write(findings, [r.values for r in fold.rows.values() if r.new]),
                                    Write(finding_evidence, fold.evidence), Write(finding_history, fold.history)])
        changed = [r.values for r in fold.rows.values() if r.changed and not r.new]
        if changed:
            c = findings.c
            await conn.execute(
                sa.update(findings).where(c.id == sa.bindparam("b_id")).values(
                    status=sa.bindparam("b_status"), due_on=sa.bindparam("b_due_on"),
                    refused=sa.bindparam("b_refused"), evidence_count=sa.bindparam("b_evidence_count"),
                    last_evidence_at=sa.bindparam("b_last_evidence_at"),
                    status_changed_at=sa.bindparam("b_status_changed_at"),
                    status_by=sa.bindparam("b_status_by"), status_note=sa.bindparam("b_status_note")),
                [{f"b_{k}": v[k] for k in ("id", "status", "due_on", "refused", "evidence_count", "last_evidence_at",
                                           "status_changed_at", "status_by", "status_note")} for v in changed])
