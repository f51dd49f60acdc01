"""The findings ledger as a catch-up projection: the steps of ``domain/findings.py`` kept in tables."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.findings import (
    ACTIVE,
    EvidenceAdded,
    Head,
    Opened,
    StatusChanged,
    on_status_event,
    on_violation,
    violations_in,
)
from ..store.event_store import RecordedEvent
from ..store.tables import finding_evidence, finding_history, findings


async def active_head(conn: AsyncConnection, rule: str, subject: str) -> Head | None:
    row = (await conn.execute(
        sa.select(findings.c.id, findings.c.status, findings.c.due_on)
        .where(findings.c.rule == rule, findings.c.subject == subject, findings.c.status.in_(ACTIVE))
        .order_by(findings.c.sort_key.desc()).limit(1)
    )).first()
    return Head(row.id, row.status, row.due_on) if row else None


class FindingsProjection:
    name = "findings"

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (findings, finding_evidence, finding_history)

    async def apply(self, conn: AsyncConnection, event: RecordedEvent) -> None:
        for index, v in enumerate(violations_in(event.data)):
            head = await active_head(conn, str(v["rule"]), str(v["subject"]))
            step = on_violation(head, v, event, index)
            if isinstance(step, Opened):
                await self._open(conn, step, event)
            else:
                await self._add_evidence(conn, step, event)
        change = on_status_event(event)
        if change is not None:
            await self._change_status(conn, change)

    async def _open(self, conn: AsyncConnection, step: Opened, event: RecordedEvent) -> None:
        await conn.execute(sa.insert(findings).values(
            id=step.finding_id, rule=step.rule, severity=step.severity, subject=step.subject,
            company_id=step.company_id, status="open", opened_at=event.occurred_at,
            opened_event_id=event.event_id, sort_key=step.sort_key, due_on=step.due_on, refused=step.refused,
            evidence_count=1, last_evidence_at=event.occurred_at, message_zh=step.message_zh,
            message_en=step.message_en, detail=step.detail,
        ))
        await self._evidence_row(conn, step.finding_id, event)
        await conn.execute(sa.insert(finding_history).values(
            finding_id=step.finding_id, event_id=event.event_id, position=event.position, status="open",
            action="open", at=event.occurred_at, actor=event.actor, by_name=None, note=None,
        ))

    async def _evidence_row(self, conn: AsyncConnection, finding_id: str, event: RecordedEvent) -> bool:
        exists = (await conn.execute(sa.select(finding_evidence.c.event_id).where(
            finding_evidence.c.finding_id == finding_id, finding_evidence.c.event_id == event.event_id))).first()
        if exists is not None:
            return False
        await conn.execute(sa.insert(finding_evidence).values(
            finding_id=finding_id, event_id=event.event_id, position=event.position, type=event.type,
            stream_id=event.stream_id, occurred_at=event.occurred_at,
        ))
        return True

    async def _add_evidence(self, conn: AsyncConnection, step: EvidenceAdded, event: RecordedEvent) -> None:
        if not await self._evidence_row(conn, step.finding_id, event):
            return
        values: dict[str, object] = {
            "evidence_count": findings.c.evidence_count + 1, "last_evidence_at": event.occurred_at,
        }
        if step.due_on is not None:
            values["due_on"] = step.due_on
        if step.refused:
            values["refused"] = True
        if step.reopened:
            values.update(status="open", status_changed_at=event.occurred_at, status_by=event.actor,
                          status_note="repeated after rectification")
            await conn.execute(sa.insert(finding_history).values(
                finding_id=step.finding_id, event_id=event.event_id, position=event.position, status="open",
                action="repeat", at=event.occurred_at, actor=event.actor, by_name=None,
                note="repeated after rectification",
            ))
        await conn.execute(sa.update(findings).where(findings.c.id == step.finding_id).values(**values))

    async def _change_status(self, conn: AsyncConnection, change: StatusChanged) -> None:
        await conn.execute(sa.update(findings).where(findings.c.id == change.finding_id).values(
            status=change.status, status_changed_at=change.at, status_by=change.by_name or change.actor,
            status_note=change.note,
        ))
        await conn.execute(sa.insert(finding_history).values(
            finding_id=change.finding_id, event_id=change.event_id, position=change.position, status=change.status,
            action=change.action, at=change.at, actor=change.actor, by_name=change.by_name, note=change.note,
        ))
