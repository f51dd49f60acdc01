"""Each cylinder's current state, for lists, filters and quick reads."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.cylinder import CylinderState, fold_onto, state_from_json, state_to_json
from ..store.db import Write, any_of, upsert_many
from ..store.event_store import RecordedEvent
from ..store.tables import cylinders


def cylinder_row(state: CylinderState, head: RecordedEvent) -> dict[str, Any]:
    """The projection's row of a cylinder in ``state`` after its event ``head``."""
    return {
        "code": state.code,
        "model": state.model,
        "status": state.status,
        "owner_company_id": state.owner.company_id,
        "owner_customer_id": state.owner.customer_id,
        "company_id": state.company_id,
        "smart_valve_id": state.smart_valve_id,
        "next_inspection_due": state.next_inspection_due,
        "life_expires_on": state.life_expires_on,
        "state": state_to_json(state),
        "version": head.version,
        "head_hash": head.hash,
    }


async def read_states(conn: AsyncConnection, codes: Sequence[str]) -> dict[str, CylinderState]:
    """The projected states of ``codes`` (those registered), in one query."""
    if not codes:
        return {}
    rows = await conn.execute(sa.select(cylinders.c.code, cylinders.c.state).where(
        any_of(conn, cylinders.c.code, sorted(set(codes)))))
    return {str(r.code): state_from_json(r.state) for r in rows}


class CylinderProjection:
    name = "cylinders"

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (cylinders,)

    def writes(self, events: Sequence[RecordedEvent], known: MutableMapping[str, Any]) -> list[Write] | None:
        by_code = _by_code(events)
        if not all(_usable(known, code, stream) for code, stream in by_code.items()):
            return None
        return [Write(cylinders, self._fold(by_code, known, {}), ("code",))] if by_code else []

    def _fold(self, by_code: Mapping[str, Sequence[RecordedEvent]], known: MutableMapping[str, Any],
              found: Mapping[str, CylinderState]) -> list[dict[str, Any]]:
        rows = []
        for code in sorted(by_code):
            stream = by_code[code]
            held = known.get(code)
            if held is not None and held.version == stream[-1].version:
                after: CylinderState | None = held  # the caller has folded these events already
            else:
                before = held if _usable(known, code, stream) else found.get(code)
                after = fold_onto(before, ((e.type, e.data, e.version) for e in stream))
            known[code] = after
            if after is not None:
                rows.append(cylinder_row(after, stream[-1]))
        return rows

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent],
                           known: MutableMapping[str, Any] | None = None) -> None:
        by_code = _by_code(events)
        if not by_code:
            return
        known = {} if known is None else known
        found = await read_states(conn, [c for c, stream in by_code.items() if not _usable(known, c, stream)])
        await upsert_many(conn, cylinders, ["code"], self._fold(by_code, known, found))


def _by_code(events: Sequence[RecordedEvent]) -> dict[str, list[RecordedEvent]]:
    by_code: dict[str, list[RecordedEvent]] = {}
    for e in events:
        if e.stream_id.startswith("cylinder:"):
            by_code.setdefault(e.stream_id.removeprefix("cylinder:"), []).append(e)
    return by_code


def _usable(known: Mapping[str, Any], code: str, stream: Sequence[RecordedEvent]) -> bool:
    """Whether ``known`` holds the code's state right before ``stream`` (or right after it)."""
    if code not in known:
        return False
    held = known[code]
    version = held.version if held is not None else 0
    return version in (stream[0].version - 1, stream[-1].version)
