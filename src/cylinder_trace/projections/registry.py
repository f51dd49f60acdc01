"""Registry entries (companies, stations, staff, vehicles, agencies, customers, valves) as they are now."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events as ev
from ..store.db import upsert
from ..store.event_store import RecordedEvent
from ..store.tables import registry


class RegistryProjection:
    name = "registry"

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (registry,)

    async def apply(self, conn: AsyncConnection, event: RecordedEvent) -> None:
        if event.type not in (ev.REGISTRY_ENTRY_CREATED, ev.REGISTRY_ENTRY_CHANGED):
            return
        d = event.data
        # registry events recorded before secrets were kept apart still hold them: not in the projection
        hidden = ev.REGISTRY_SECRET_FIELDS.get(d["kind"], ())
        entry = {k: v for k, v in d["entry"].items() if k not in hidden}
        await upsert(conn, registry, ["kind", "id"], {
            "kind": d["kind"],
            "id": d["id"],
            "company_id": entry.get("company_id"),
            "data": entry,
            "version": event.version,
            "updated_at": event.recorded_at,
        })
