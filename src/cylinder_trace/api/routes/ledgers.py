"""The subsidy and swap ledgers (台账), as JSON, CSV or XLSX."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app import ledgers as handlers
from ...app.ledgers import LedgerRange
from ..commands import REFUSAL_RESPONSES
from ..deps import Caller, Svc
from ..exports import ExportFormat, file_response

router = APIRouter(prefix="/api/v1/ledgers", tags=["ledgers"], responses=REFUSAL_RESPONSES)

CompanyId = Annotated[str | None, Query(max_length=64)]
From = Annotated[date | None, Query(alias="from", description="first day, inclusive")]
To = Annotated[date | None, Query(alias="to", description="last day, inclusive")]
Format = Annotated[ExportFormat, Query()]


@router.get("/subsidies", summary="Subsidies earned per company per month per kind, each backed by event ids",
            response_model=None)
async def subsidies(services: Svc, caller: Caller, company_id: CompanyId = None, start: From = None,
                    end: To = None, format: Format = "json") -> Response:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await handlers.subsidies(conn, caller, LedgerRange(company_id, start, end))

    body = await services.uow.read(reader)
    if format == "json":
        return JSONResponse(body)
    return await subsidies_file(format, body)


@router.get("/swaps", summary="产权置换 ledger: one row per swap with its money lines", response_model=None)
async def swaps(services: Svc, caller: Caller, company_id: CompanyId = None, start: From = None,
                end: To = None, format: Format = "json") -> Response:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await handlers.swaps(conn, caller, LedgerRange(company_id, start, end))

    body = await services.uow.read(reader)
    if format == "json":
        return JSONResponse(body)
    return await swaps_file(format, body)


async def subsidies_file(fmt: ExportFormat, body: dict[str, Any]) -> Response:
    """The subsidy ledger (as :func:`handlers.subsidies` reads it) as a CSV or XLSX file with a total row."""
    sums = {"company_id": "合计 total", "count": sum(r["count"] for r in body["rows"]), "amount_cny": body["total_cny"]}
    footer = [sums.get(c, "") for c in handlers.SUBSIDY_COLUMNS]
    return await file_response(fmt, "subsidies", "补贴台账", handlers.SUBSIDY_COLUMNS, body["rows"], footer)


async def swaps_file(fmt: ExportFormat, body: dict[str, Any]) -> Response:
    """The swap ledger (as :func:`handlers.swaps` reads it) as a CSV or XLSX file with a total row."""
    t = body["totals"]
    sums = {"swap_id": "合计 total", "user_pays_cny": t["user_pays_cny"], "deposit_cny": t["deposit_cny"],
            "company_pays_user_cny": t["company_pays_user_cny"], "topup_kg": t["topup_kg"],
            "subsidy_cny": t["subsidy_cny"]}
    footer = [sums.get(c, "") for c in handlers.SWAP_COLUMNS]
    return await file_response(fmt, "swaps", "产权置换台账", handlers.SWAP_COLUMNS, body["rows"], footer)
