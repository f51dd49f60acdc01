"""The audit log of unmasked reads (regulator, admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app.audit import AuditFilter, audit_page
from ..commands import REFUSAL_RESPONSES
from ..deps import Caller, Svc
from ..pagination import Cursor, Limit, decode_position, encode_cursor
from ..schemas import Instant

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=REFUSAL_RESPONSES)


@router.get("/audit-log", summary="Every answer that showed someone's full ID number: who, when, whose; "
                                  "newest first (regulator, admin)")
async def list_audit_log(
    services: Svc, caller: Caller, limit: Limit = 50, cursor: Cursor = None,
    principal_id: Annotated[str | None, Query(max_length=64)] = None,
    subject: Annotated[str | None, Query(max_length=200, description="customer:<id> or cylinder:<code>")] = None,
    since: Annotated[Instant | None, Query(description="from this time on")] = None,
) -> JSONResponse:
    wanted = AuditFilter(principal_id, subject, since, decode_position(cursor), limit)

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        items, before = await audit_page(conn, caller, wanted)
        return {"items": items, "next_cursor": encode_cursor(str(before)) if before is not None else None}

    return JSONResponse(await services.uow.read(reader))
