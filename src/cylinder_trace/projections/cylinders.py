"""Each cylinder's current state, for lists, filters and quick reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.cylinder import apply, state_from_json, state_to_json
from ..store.db import upsert
from ..store.event_store import RecordedEvent
from ..store.tables import cylinders


class CylinderProjection:
    name = "cylinders"

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (cylinders,)

    async def apply(self, conn: AsyncConnection, event: RecordedEvent) -> None:
        if not event.stream_id.startswith("cylinder:"):
            return
        code = event.stream_id.removeprefix("cylinder:")
        row = (await conn.execute(sa.select(cylinders.c.state).where(cylinders.c.code == code))).first()
        before = state_from_json(row.state) if row else None
        after = apply(before, event.type, event.data, event.version)
        if after is None:
            return
        state: dict[str, Any] = state_to_json(after)
        await upsert(conn, cylinders, ["code"], {
            "code": code,
            "model": after.model,
            "status": after.status,
            "owner_company_id": after.owner.company_id,
            "owner_customer_id": after.owner.customer_id,
            "company_id": after.company_id,
            "smart_valve_id": after.smart_valve_id,
            "next_inspection_due": after.next_inspection_due,
            "life_expires_on": after.life_expires_on,
            "state": state,
            "version": event.version,
            "head_hash": event.hash,
        })
