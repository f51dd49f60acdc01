"""Fill pre-checks, in-home safety checks and sweeps."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...app import fill_checks
from ...app.sweeps import run_sweeps
from ...app.unit_of_work import Tx
from ...domain.commands import CheckFill, RecordSafetyCheck
from ..commands import REFUSAL_RESPONSES, run_command
from ..deps import Caller, Svc
from ..schemas import FillCheckIn, SafetyCheckRecordIn

router = APIRouter(prefix="/api/v1", tags=["checks"], responses=REFUSAL_RESPONSES)


@router.post("/fill-checks", summary="Fill pre-check: may this cylinder be filled here now? (tells only)")
async def post_fill_check(body: FillCheckIn, services: Svc, caller: Caller) -> JSONResponse:
    req = CheckFill(body.code, body.station_id, body.filler_id)

    async def handler(tx: Tx) -> dict[str, object]:
        return await fill_checks.check_fill(tx, req, caller, services.fill_authorizer)

    return JSONResponse(await services.uow.write(handler, fill_checks.fill_check_needs(req)))


@router.post("/safety-checks", status_code=201,
             summary="Record an in-home safety check; hazards open findings with a rectification date")
async def post_safety_check(body: SafetyCheckRecordIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = RecordSafetyCheck(body.customer_id, body.worker_id, body.occurred_at, body.notice_given,
                            body.customer_signed, [h.model_dump() for h in body.hazards])
    return await run_command(services, "safety_check", body,
                             lambda tx, eid: fill_checks.record_safety_check(tx, eid, cmd, caller),
                             needs=fill_checks.safety_check_needs(cmd))


@router.post("/sweeps", summary="Run the absence-of-event rules now (regulator, admin)")
async def post_sweeps(services: Svc, caller: Caller) -> JSONResponse:
    caller.require("admin", "regulator")
    report = await run_sweeps(services.uow, services.uow.clock())
    return JSONResponse(report.to_json())
