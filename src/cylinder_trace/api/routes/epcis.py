"""GS1 EPCIS 2.0 query interface (the SimpleEventQuery parameters API.md names)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app.errors import InvalidInput
from ...domain.codes import InvalidCode, parse_epc_uri
from ...epcis.mapping import query_document
from ...epcis.query import EventQuery, query_events
from ..commands import REFUSAL_RESPONSES
from ..deps import Caller, Svc
from ..pagination import Cursor, decode_position, encode_cursor
from ..schemas import Instant

router = APIRouter(prefix="/api/v1/epcis", tags=["epcis"], responses=REFUSAL_RESPONSES)
EPCIS_MEDIA = "application/ld+json"


def _codes(epcs: list[str]) -> list[str]:
    try:
        return [parse_epc_uri(e)[0].code for e in epcs]
    except InvalidCode as exc:
        raise InvalidInput("MATCH_epc", exc.reason) from None


async def _answer(services: Svc, caller: Caller, q: EventQuery) -> JSONResponse:
    if not caller.sees_all_companies:
        q = replace(q, company_id=caller.listed_company(None, "events"))
    created = services.uow.clock()

    async def reader(conn: AsyncConnection) -> tuple[list[dict[str, Any]], int | None]:
        return await query_events(conn, q, services.settings.timezone)

    found, next_after = await services.uow.read(reader)
    headers = {}
    if next_after is not None:
        headers["Link"] = f'<?nextPageToken={encode_cursor(str(next_after))}>; rel="next"'
    return JSONResponse(query_document(found, created), media_type=EPCIS_MEDIA, headers=headers)


def _after(token: str | None) -> int:
    return decode_position(token, "nextPageToken") or 0


@router.get("/events", summary="EPCIS 2.0 events of cylinders (SimpleEventQuery)")
async def events_query(
    services: Svc,
    caller: Caller,
    MATCH_epc: Annotated[list[str] | None, Query(description="GRAI EPC URIs")] = None,
    GE_eventTime: Annotated[Instant | None, Query()] = None,
    LT_eventTime: Annotated[Instant | None, Query()] = None,
    EQ_bizStep: Annotated[str | None, Query(max_length=200)] = None,
    perPage: Annotated[int, Query(ge=1, le=1000)] = 500,
    nextPageToken: Cursor = None,
) -> JSONResponse:
    q = EventQuery(
        _codes(MATCH_epc) if MATCH_epc else None,
        GE_eventTime,
        LT_eventTime,
        EQ_bizStep,
        None,
        _after(nextPageToken),
        perPage,
    )
    return await _answer(services, caller, q)


@router.get("/epcs/{epc}/events", summary="EPCIS 2.0 events of one cylinder")
async def epc_events(
    epc: str,
    services: Svc,
    caller: Caller,
    perPage: Annotated[int, Query(ge=1, le=1000)] = 500,
    nextPageToken: Cursor = None,
) -> JSONResponse:
    return await _answer(
        services, caller, EventQuery(_codes([epc]), None, None, None, None, _after(nextPageToken), perPage)
    )
