"""Registry entries (companies, stations, staff, vehicles, agencies, customers, valves) as they are now."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events as ev
from ..store.db import Write, upsert_many
from ..store.event_store import RecordedEvent
from ..store.tables import registry


def entry_of(event: RecordedEvent) -> tuple[str, str, dict[str, Any]] | None:
    """``(kind, id, entry)`` a registry event leaves behind (secret fields never included), else None."""
    if event.type not in (ev.REGISTRY_ENTRY_CREATED, ev.REGISTRY_ENTRY_CHANGED):
        return None
    d = event.data
    # registry events recorded before secrets were kept apart still hold them: not in the projection
    hidden = ev.REGISTRY_SECRET_FIELDS.get(d["kind"], ())
    return str(d["kind"]), str(d["id"]), {k: v for k, v in d["entry"].items() if k not in hidden}


class RegistryProjection:
    name = "registry"

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (registry,)

    def writes(self, events: Sequence[RecordedEvent], known: MutableMapping[str, Any]) -> list[Write] | None:
        rows = self._rows(events)
        return [Write(registry, rows, ("kind", "id"))] if rows else []

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent],
                           known: MutableMapping[str, Any] | None = None) -> None:
        await upsert_many(conn, registry, ["kind", "id"], self._rows(events))

    @staticmethod
    def _rows(events: Sequence[RecordedEvent]) -> list[dict[str, Any]]:
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for event in events:
            found = entry_of(event)
            if found is None:
                continue
            kind, entry_id, entry = found
            rows[(kind, entry_id)] = {
                "kind": kind, "id": entry_id, "company_id": entry.get("company_id"), "data": entry,
                "version": event.version, "updated_at": event.recorded_at,
            }
        return [rows[k] for k in sorted(rows)]
