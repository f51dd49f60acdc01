"""Station and delivery work: fills, deliveries, collections, inspections."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...app import cylinders as handlers
from ...domain.commands import RecordCollection, RecordDelivery, RecordFill, RecordInspection
from ..commands import REFUSAL_RESPONSES, run_command
from ..deps import Caller, Svc
from ..schemas import CollectionIn, DeliveryIn, FillIn, InspectionIn

router = APIRouter(prefix="/api/v1", tags=["work"], responses=REFUSAL_RESPONSES)


@router.post("/fills", status_code=201, summary="Record a fill; refused fills are stored as FillRefused")
async def post_fill(body: FillIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = RecordFill(body.code, body.station_id, body.filler_id, body.occurred_at, body.net_mass_kg,
                     body.checks.model_dump())
    return await run_command(services, "fill", body,
                             lambda tx, eid: handlers.record_fill(tx, eid, cmd, caller, services.codes),
                             needs=handlers.fill_needs(cmd))


@router.post("/deliveries", status_code=201, summary="Record a delivery to a customer")
async def post_delivery(body: DeliveryIn, services: Svc, caller: Caller) -> JSONResponse:
    check = body.safety_check.model_dump(mode="json") if body.safety_check else None
    cmd = RecordDelivery(body.code, body.customer_id, body.worker_id, body.occurred_at, body.vehicle_plate, check)
    return await run_command(services, "delivery", body,
                             lambda tx, eid: handlers.record_delivery(tx, eid, cmd, caller, services.codes),
                             needs=handlers.delivery_needs(cmd))


@router.post("/collections", status_code=201, summary="Record an empty cylinder taken back")
async def post_collection(body: CollectionIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = RecordCollection(body.code, body.customer_id, body.worker_id, body.occurred_at, body.residual_kg)
    return await run_command(services, "collection", body,
                             lambda tx, eid: handlers.record_collection(tx, eid, cmd, caller, services.codes),
                             needs=handlers.collection_needs(cmd))


@router.post("/inspections", status_code=201, summary="Record a periodic inspection (inspector)")
async def post_inspection(body: InspectionIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = RecordInspection(body.code, body.agency_id, body.occurred_at, body.result,
                           body.converted_to_single_phase)
    return await run_command(services, "inspection", body,
                             lambda tx, eid: handlers.record_inspection(tx, eid, cmd, caller, services.codes),
                             needs=handlers.inspection_needs(cmd))
