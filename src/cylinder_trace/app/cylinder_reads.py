"""Reading cylinders: current state, history (as of), chain verification and filtered pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.canonical import canonical_json
from ..domain.cylinder import CylinderState, fold, state_from_json
from ..domain.events import cylinder_stream
from ..projections.cylinders import read_states
from ..store import event_store
from ..store.event_store import RecordedEvent
from ..store.tables import cylinders
from .cylinders import CodeSettings, cylinder_view, parse_code
from .errors import Forbidden, NotFound
from .findings import open_findings_by_subject, open_findings_of_cylinder
from .principals import Principal


async def load_readable(
    conn: AsyncConnection, code: str, caller: Principal
) -> tuple[CylinderState, list[RecordedEvent]]:
    """The cylinder's state and history, if it exists and the caller may read it."""
    history = await event_store.read_stream(conn, f"cylinder:{parse_code(code)}")
    state = fold((e.type, e.data, e.version) for e in history)
    if state is None:
        raise NotFound("cylinder", code)
    if not caller.can_read_company(state.company_id):
        raise Forbidden("this token may not read cylinders of another company")
    return state, history


async def readable_state(conn: AsyncConnection, code: str, caller: Principal) -> CylinderState:
    """The cylinder's current state (its projection), if it exists and the caller may read it."""
    state = (await read_states(conn, [parse_code(code)])).get(parse_code(code))
    if state is None:
        raise NotFound("cylinder", code)
    if not caller.can_read_company(state.company_id):
        raise Forbidden("this token may not read cylinders of another company")
    return state


async def current(conn: AsyncConnection, code: str, caller: Principal, codes: CodeSettings) -> dict[str, Any]:
    state = await readable_state(conn, code, caller)
    return cylinder_view(state, codes, await open_findings_of_cylinder(conn, state.code))


async def history(
    conn: AsyncConnection, code: str, caller: Principal, codes: CodeSettings, as_of: datetime | None
) -> str:
    """Every event in stream order, as JSON text; with ``as_of`` only what was recorded by then, and the
    state then. Without ``as_of`` the events' text comes from the store as it is (one query, nothing
    decoded and encoded again)."""
    if as_of is None:
        state = await readable_state(conn, code, caller)
        document = await event_store.read_stream_document(conn, cylinder_stream(state.code))
        return f'{{"code":{canonical_json(state.code)},"events":{document.text}}}'
    _, events = await load_readable(conn, code, caller)
    events = [e for e in events if e.recorded_at <= as_of]
    state_then = fold((e.type, e.data, e.version) for e in events)
    return canonical_json({
        "code": parse_code(code), "as_of": as_of.isoformat(),
        "state": cylinder_view(state_then, codes) if state_then else None,
        "events": [e.to_json() for e in events],
    })


async def verify(conn: AsyncConnection, code: str, caller: Principal) -> dict[str, Any]:
    """Recompute the hash chain, and check the stream still ends where the projection saw it end
    (deleting the newest event leaves a valid chain behind)."""
    state, events = await load_readable(conn, code, caller)
    report = event_store.verify_chain(events)
    head = (
        await conn.execute(sa.select(cylinders.c.version, cylinders.c.head_hash).where(cylinders.c.code == state.code))
    ).first()
    valid, reason = report.valid, report.reason
    if valid and head is not None and (head.version, head.head_hash) != (report.count, report.head_hash):
        valid = False
        reason = f"the stream ends at version {report.count}, but version {head.version} was recorded"
    return {
        "valid": valid,
        "count": report.count,
        "head_hash": report.head_hash,
        "first_bad_version": report.first_bad_version,
        "reason": reason,
    }


@dataclass(frozen=True, slots=True)
class CylinderFilter:
    status: str | None = None
    owner_company_id: str | None = None
    overdue: bool | None = None
    after_code: str | None = None
    limit: int = 50


async def page(
    conn: AsyncConnection, f: CylinderFilter, caller: Principal, codes: CodeSettings, today: date
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of states the caller may read, and the last code when more follow."""
    if f.owner_company_id is not None and not caller.can_read_company(f.owner_company_id):
        raise Forbidden("this token may not read cylinders of another company")
    company = f.owner_company_id if caller.sees_all_companies else caller.company_id
    query = sa.select(cylinders.c.code, cylinders.c.state).order_by(cylinders.c.code).limit(f.limit + 1)
    if f.status is not None:
        query = query.where(cylinders.c.status == f.status)
    if company is not None:
        query = query.where(cylinders.c.company_id == company)
    if f.overdue is not None:
        overdue = cylinders.c.next_inspection_due < today
        query = query.where(overdue if f.overdue else sa.not_(overdue))
    if f.after_code is not None:
        query = query.where(cylinders.c.code > f.after_code)
    rows = (await conn.execute(query)).all()
    shown = rows[: f.limit]
    counts = await open_findings_by_subject(conn, [f"cylinder:{r.code}" for r in shown])
    items = [cylinder_view(state_from_json(r.state), codes, counts.get(f"cylinder:{r.code}", 0)) for r in shown]
    return items, shown[-1].code if len(rows) > f.limit else None
