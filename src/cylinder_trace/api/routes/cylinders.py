"""``/api/v1/cylinders``: register, read, history (as of), verify, list; valve, seize, scrap."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app import cylinder_reads as reads
from ...app import cylinders as handlers
from ...app.cylinders import Registration, parse_code
from ...app.unit_of_work import Tx
from ...domain.commands import FitValve, ScrapCylinder, SeizeCylinder
from ...domain.cylinder import STATUSES
from ...domain.dates import local_day
from ...store.db import loads_json
from ..commands import REFUSAL_RESPONSES, run_command
from ..deps import Caller, Svc
from ..pagination import Cursor, Limit, decode_cursor, encode_cursor
from ..personal import shown_history
from ..schemas import CylinderIn, FitValveIn, Instant, ScrapIn, SeizeIn

router = APIRouter(prefix="/api/v1/cylinders", tags=["cylinders"], responses=REFUSAL_RESPONSES)

Status = Literal[STATUSES]  # type: ignore[valid-type]


@router.post("", status_code=201, summary="Register a cylinder (a code is generated when none is given)")
async def register(body: CylinderIn, services: Svc, caller: Caller) -> JSONResponse:
    async def handler(tx: Tx, event_id: str) -> Any:
        reg = Registration(
            event_id=event_id,
            model=body.model,
            serial=body.serial,
            manufacturer_code=body.manufacturer_code,
            manufactured_on=body.manufactured_on,
            owner_company_id=body.owner.company_id,
            owner_customer_id=body.owner.customer_id,
            last_inspected_on=body.last_inspected_on,
            tare_kg=body.tare_kg,
            code=body.code,
            occurred_at=body.occurred_at or tx.now,
            in_service_since=body.in_service_since,
        )
        return await handlers.register_cylinder(tx, reg, caller, services.codes)

    needs = handlers.registration_needs(body.owner.company_id, body.owner.customer_id, body.code, model=body.model,
                                        serial=body.serial, codes=services.codes)
    return await run_command(services, "register_cylinder", body, handler, needs=needs)


@router.get("/{code}", summary="A cylinder's current state")
async def get_cylinder(code: str, services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await reads.current(conn, code, caller, services.codes)

    return JSONResponse(await services.uow.read(reader))


@router.get("/{code}/history", summary="Every event of a cylinder, in order; optionally as of a record time")
async def get_history(
    code: str,
    services: Svc,
    caller: Caller,
    as_of: Annotated[Instant | None, Query(description="only what was recorded by then")] = None,
) -> Response:
    async def reader(conn: AsyncConnection) -> str:
        return await reads.history(conn, code, caller, services.codes, as_of)

    text = await services.uow.read(reader)
    if '"id_number"' not in text:  # nothing personal in it: the stored text as it is
        return Response(text, media_type="application/json")
    return JSONResponse(await shown_history(services, caller, loads_json(text)))


@router.get("/{code}/verify", summary="Recompute the cylinder's hash chain")
async def verify(code: str, services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await reads.verify(conn, code, caller)

    return JSONResponse(await services.uow.read(reader))


@router.get("", summary="A page of cylinder states, filtered")
async def list_cylinders(
    services: Svc,
    caller: Caller,
    status: Annotated[Status | None, Query()] = None,
    owner_company_id: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[bool | None, Query(description="next inspection due before today")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> JSONResponse:
    wanted = reads.CylinderFilter(status, owner_company_id, overdue, decode_cursor(cursor), limit)
    today = local_day(services.uow.clock(), services.settings.timezone)

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        items, last = await reads.page(conn, wanted, caller, services.codes, today)
        return {"items": items, "next_cursor": encode_cursor(last) if last else None}

    return JSONResponse(await services.uow.read(reader))


@router.post("/{code}/valve", status_code=201, summary="Fit a smart angle valve")
async def fit_valve(code: str, body: FitValveIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = FitValve(parse_code(code), body.valve_id, body.occurred_at)
    return await run_command(
        services, "fit_valve", body, lambda tx, eid: handlers.fit_valve(tx, eid, cmd, caller, services.codes),
        path={"code": cmd.code}, needs=handlers.valve_fitting_needs(cmd),
    )


@router.post("/{code}/seize", status_code=201, summary="Seize a cylinder (regulator, inspector)")
async def seize(code: str, body: SeizeIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = SeizeCylinder(parse_code(code), body.reason, body.occurred_at)
    return await run_command(
        services, "seize", body, lambda tx, eid: handlers.seize(tx, eid, cmd, caller, services.codes),
        path={"code": cmd.code}, needs=handlers.cylinder_needs(cmd.code),
    )


@router.post("/{code}/scrap", status_code=201, summary="Scrap a cylinder; its code is void forever")
async def scrap(code: str, body: ScrapIn, services: Svc, caller: Caller) -> JSONResponse:
    handed = body.handed_in_by.model_dump() if body.handed_in_by else None
    if handed is not None:  # the ID number is kept sealed from here on (events, refusals, projections)
        handed["id_number"] = services.personal.seal(handed["id_number"])
    cmd = ScrapCylinder(parse_code(code), body.reason, body.occurred_at, body.company_id, handed, body.agency_id)
    return await run_command(
        services, "scrap", body, lambda tx, eid: handlers.scrap(tx, eid, cmd, caller, services.codes),
        path={"code": cmd.code}, needs=handlers.cylinder_needs(cmd.code),
    )
