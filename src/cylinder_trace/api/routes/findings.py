"""The findings ledger (隐患台账): list, read, rectify, close (销号), reopen."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app import findings as handlers
from ...app.principals import Principal
from ...app.services import Services
from ...app.unit_of_work import Outcome
from ...domain.findings import Action, Status
from ...domain.violations import Severity
from ..commands import REFUSAL_RESPONSES, command_outcome
from ..deps import Caller, Svc
from ..exports import ExportFormat, file_response
from ..pagination import Cursor, Limit, decode_cursor, encode_cursor
from ..schemas import FindingNoteIn

router = APIRouter(prefix="/api/v1/findings", tags=["findings"], responses=REFUSAL_RESPONSES)

Filter = Annotated[str | None, Query(max_length=200)]


@router.get("", summary="A page of findings (ledger order); ?format=csv|xlsx for the whole ledger as a file",
            response_model=None)
async def list_findings(
    services: Svc, caller: Caller,
    status: Annotated[Status | None, Query()] = None,
    rule: Filter = None,
    severity: Annotated[Severity | None, Query()] = None,
    company_id: Filter = None,
    subject: Filter = None,
    subject_kind: Annotated[handlers.SubjectKind | None, Query(description="every subject of a kind")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    format: Annotated[ExportFormat, Query(description="json (paged), csv or xlsx (every match)")] = "json",
) -> Response:
    flt = handlers.FindingFilter(status, rule, severity, company_id, subject, subject_kind)
    paged = format == "json"
    after = decode_cursor(cursor) if paged else None

    async def reader(conn: AsyncConnection) -> tuple[list[dict[str, Any]], str | None]:
        return await handlers.list_findings(conn, caller, flt, limit if paged else None, after)

    rows, next_key = await services.uow.read(reader)
    if not paged:
        return await findings_file(format, rows)
    return JSONResponse({"items": rows, "next_cursor": encode_cursor(next_key) if next_key else None})


async def findings_file(fmt: ExportFormat, rows: list[dict[str, Any]]) -> Response:
    """The findings ledger as a CSV or XLSX download."""
    return await file_response(fmt, "findings", "隐患台账", handlers.COLUMNS, rows)


@router.get("/{finding_id}", summary="One finding, with its evidence event ids and its status history")
async def get_finding(finding_id: str, services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await handlers.read_finding(conn, caller, finding_id)

    return JSONResponse(await services.uow.read(reader))


async def change_finding(services: Services, caller: Principal, finding_id: str, action: Action,
                         body: FindingNoteIn) -> Outcome:
    """Rectify, close or reopen, idempotent by the body's ``event_id`` (the web pages call this too)."""
    return await command_outcome(
        services, f"finding_{action}", body,
        lambda tx, eid: handlers.change_status(tx, finding_id, action, body.note, caller, eid),
        path={"finding_id": finding_id}, event_id=str(body.event_id or uuid.uuid4()),
    )


async def _change(services: Svc, caller: Caller, finding_id: str, action: Action, body: FindingNoteIn) -> JSONResponse:
    outcome = await change_finding(services, caller, finding_id, action, body)
    return JSONResponse(outcome.body, status_code=outcome.status)


@router.post("/{finding_id}/rectify", summary="The responsible company claims the finding rectified, with a note")
async def rectify(finding_id: str, body: FindingNoteIn, services: Svc, caller: Caller) -> JSONResponse:
    return await _change(services, caller, finding_id, "rectify", body)


@router.post("/{finding_id}/close", summary="A regulator closes (销号) a rectified finding")
async def close(finding_id: str, body: FindingNoteIn, services: Svc, caller: Caller) -> JSONResponse:
    return await _change(services, caller, finding_id, "close", body)


@router.post("/{finding_id}/reopen", summary="A regulator reopens a finding")
async def reopen(finding_id: str, body: FindingNoteIn, services: Svc, caller: Caller) -> JSONResponse:
    return await _change(services, caller, finding_id, "reopen", body)
