"""Devices: smart valve status (merged into ``GET /api/v1/valves/{valve_id}``) and the dead letters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app.devices import dead_letters, valve_status
from ...app.services import Services
from ..deps import Caller, Svc
from ..pagination import Cursor, Limit, decode_position, encode_cursor

router = APIRouter(prefix="/api/v1", tags=["devices"])


async def valve_device_fields(services: Services, valve_id: str) -> dict[str, Any]:
    """The device status of a valve, for the valve registry's read (API.md, Devices)."""
    return await valve_status(services.uow, valve_id)


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
