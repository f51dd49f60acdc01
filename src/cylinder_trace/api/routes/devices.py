"""Devices: smart valve status (merged into ``GET /api/v1/valves/{valve_id}``) and the dead letters."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app.devices import dead_letters
from ...app.services import Services
from ...domain.dates import local_day
from ...ingest.queries import device_status
from ..deps import Caller, Svc
from ..pagination import Cursor, Limit, decode_position, encode_cursor

router = APIRouter(prefix="/api/v1", tags=["devices"])


async def valve_device_fields(services: Services, valve_id: str) -> dict[str, Any]:
    """The device status of a valve, for the valve registry's read (API.md, Devices)."""
    now = services.uow.clock()
    policy = services.policy_book.at(services.settings.jurisdiction, local_day(now, services.settings.timezone))
    offline_after = timedelta(hours=policy.valve_offline_hours)

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await device_status(conn, valve_id, now=now, offline_after=offline_after)

    return await services.uow.read(reader)


@router.get("/dead-letters", summary="Valve messages the ingestor could not accept, newest first "
                                     "(admin, regulator)")
async def list_dead_letters(
    services: Svc, caller: Caller, limit: Limit = 50, cursor: Cursor = None,
    kind: Annotated[str | None, Query(max_length=32, description="bad_mac, replay, not_json, unknown_valve, "
                                                                  "schema, oversize, …")] = None,
    valve_id: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    before = decode_position(cursor)

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        page = await dead_letters(conn, caller, limit=limit, before=before, kind=kind, valve_id=valve_id)
        return {"items": page.items,
                "next_cursor": encode_cursor(str(page.next_before)) if page.next_before is not None else None}

    return JSONResponse(await services.uow.read(reader))
