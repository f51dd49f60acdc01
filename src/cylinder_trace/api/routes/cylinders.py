"""``/api/v1/cylinders``: register, read, history (as of), verify, list; valve, seize, scrap."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app import cylinders as handlers
from ...app.cylinders import Registration, cylinder_view, parse_code
from ...app.errors import Forbidden, NotFound
from ...app.findings import open_findings_by_subject, open_findings_of_cylinder
from ...app.principals import Principal
from ...app.unit_of_work import Tx
from ...domain.commands import FitValve, ScrapCylinder, SeizeCylinder
from ...domain.cylinder import STATUSES, fold, state_from_json
from ...domain.dates import local_day
from ...store import event_store
from ...store.tables import cylinders
from ..commands import REFUSAL_RESPONSES, run_command
from ..deps import Caller, Svc
from ..pagination import Cursor, Limit, decode_cursor, encode_cursor
from ..schemas import CylinderIn, FitValveIn, ScrapIn, SeizeIn

router = APIRouter(prefix="/api/v1/cylinders", tags=["cylinders"], responses=REFUSAL_RESPONSES)

Status = Literal[STATUSES]  # type: ignore[valid-type]


@router.post("", status_code=201, summary="Register a cylinder (a code is generated when none is given)")
async def register(body: CylinderIn, services: Svc, caller: Caller) -> JSONResponse:
    async def handler(tx: Tx, event_id: str) -> Any:
        reg = Registration(
            event_id=event_id, model=body.model, serial=body.serial, manufacturer_code=body.manufacturer_code,
            manufactured_on=body.manufactured_on, owner_company_id=body.owner.company_id,
            owner_customer_id=body.owner.customer_id, last_inspected_on=body.last_inspected_on,
            tare_kg=body.tare_kg, code=body.code, occurred_at=body.occurred_at or tx.now,
        )
        return await handlers.register_cylinder(tx, reg, caller, services.codes)

    return await run_command(services, "register_cylinder", body, handler)


def _require_read(caller: Principal, company_id: str | None) -> None:
    if not caller.can_read_company(company_id):
        raise Forbidden("this token may not read cylinders of another company")


async def _load_readable(conn: AsyncConnection, code: str, caller: Principal) -> tuple[Any, list[Any]]:
    history = await event_store.read_stream(conn, f"cylinder:{parse_code(code)}")
    state = fold((e.type, e.data, e.version) for e in history)
    if state is None:
        raise NotFound("cylinder", code)
    _require_read(caller, state.company_id)
    return state, history


@router.get("/{code}", summary="A cylinder's current state")
async def get_cylinder(code: str, services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        state, _ = await _load_readable(conn, code, caller)
        return cylinder_view(state, services.codes, await open_findings_of_cylinder(conn, state.code))

    return JSONResponse(await services.uow.read(reader))


@router.get("/{code}/history", summary="Every event of a cylinder, in order; optionally as of a record time")
async def get_history(
    code: str, services: Svc, caller: Caller,
    as_of: Annotated[AwareDatetime | None, Query(description="only what was recorded by then")] = None,
) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        _, history = await _load_readable(conn, code, caller)
        body: dict[str, Any] = {"code": parse_code(code)}
        if as_of is not None:
            history = [e for e in history if e.recorded_at <= as_of]
            state = fold((e.type, e.data, e.version) for e in history)
            body["as_of"] = as_of.isoformat()
            body["state"] = cylinder_view(state, services.codes) if state else None
        body["events"] = [e.to_json() for e in history]
        return body

    return JSONResponse(await services.uow.read(reader))


@router.get("/{code}/verify", summary="Recompute the cylinder's hash chain")
async def verify(code: str, services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        _, history = await _load_readable(conn, code, caller)
        report = event_store.verify_chain(history)
        head = (await conn.execute(sa.select(cylinders.c.version, cylinders.c.head_hash).where(
            cylinders.c.code == parse_code(code)))).first()
        valid, reason = report.valid, report.reason
        if valid and head is not None and (head.version, head.head_hash) != (report.count, report.head_hash):
            valid, reason = False, f"the stream ends at version {report.count}, but version {head.version} was recorded"
        return {"valid": valid, "count": report.count, "head_hash": report.head_hash,
                "first_bad_version": report.first_bad_version, "reason": reason}

    return JSONResponse(await services.uow.read(reader))


@router.get("", summary="A page of cylinder states, filtered")
async def list_cylinders(
    services: Svc, caller: Caller,
    status: Annotated[Status | None, Query()] = None,
    owner_company_id: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[bool | None, Query(description="next inspection due before today")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> JSONResponse:
    after = decode_cursor(cursor)
    company = owner_company_id if caller.sees_all_companies else caller.company_id
    if owner_company_id is not None and not caller.can_read_company(owner_company_id):
        raise Forbidden("this token may not read cylinders of another company")

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        query = sa.select(cylinders.c.code, cylinders.c.state).order_by(cylinders.c.code).limit(limit + 1)
        if status is not None:
            query = query.where(cylinders.c.status == status)
        if company is not None:
            query = query.where(cylinders.c.company_id == company)
        if overdue is not None:
            today = local_day(services.uow.clock(), services.settings.timezone)
            cond = cylinders.c.next_inspection_due < today
            query = query.where(cond if overdue else sa.not_(cond))
        if after is not None:
            query = query.where(cylinders.c.code > after)
        rows = (await conn.execute(query)).all()
        page = rows[:limit]
        counts = await open_findings_by_subject(conn, [f"cylinder:{r.code}" for r in page])
        return {
            "items": [cylinder_view(state_from_json(r.state), services.codes, counts.get(f"cylinder:{r.code}", 0))
                      for r in page],
            "next_cursor": encode_cursor(page[-1].code) if len(rows) > limit else None,
        }

    return JSONResponse(await services.uow.read(reader))


@router.post("/{code}/valve", status_code=201, summary="Fit a smart angle valve")
async def fit_valve(code: str, body: FitValveIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = FitValve(parse_code(code), body.valve_id, body.occurred_at)
    return await run_command(services, "fit_valve", body,
                             lambda tx, eid: handlers.fit_valve(tx, eid, cmd, caller, services.codes))


@router.post("/{code}/seize", status_code=201, summary="Seize a cylinder (regulator, inspector)")
async def seize(code: str, body: SeizeIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = SeizeCylinder(parse_code(code), body.reason, body.occurred_at)
    return await run_command(services, "seize", body,
                             lambda tx, eid: handlers.seize(tx, eid, cmd, caller, services.codes))


@router.post("/{code}/scrap", status_code=201, summary="Scrap a cylinder; its code is void forever")
async def scrap(code: str, body: ScrapIn, services: Svc, caller: Caller) -> JSONResponse:
    handed = body.handed_in_by.model_dump() if body.handed_in_by else None
    cmd = ScrapCylinder(parse_code(code), body.reason, body.occurred_at, body.company_id, handed)
    return await run_command(services, "scrap", body,
                             lambda tx, eid: handlers.scrap(tx, eid, cmd, caller, services.codes))
