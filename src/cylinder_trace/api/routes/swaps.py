"""产权置换 swaps: quote, execute, refund the deposit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...app import swaps as handlers
from ...domain.commands import ExecuteSwap, RefundDeposit
from ..commands import REFUSAL_RESPONSES, run_command
from ..deps import Caller, Svc
from ..schemas import RefundDepositIn, SwapIn, SwapQuoteIn

router = APIRouter(prefix="/api/v1/swaps", tags=["swaps"], responses=REFUSAL_RESPONSES)


@router.post("/quote", summary="What a swap of this user-owned cylinder would cost, on a day (stores nothing)")
async def post_quote(body: SwapQuoteIn, services: Svc, caller: Caller) -> JSONResponse:
    return JSONResponse(await handlers.quote_swap(services.uow, caller, body.code, body.on, body.residual_kg,
                                                  body.recycle_price_cny))


@router.post("", status_code=201, summary="Swap a user-owned cylinder for a company cylinder (产权置换)")
async def post_swap(body: SwapIn, services: Svc, caller: Caller) -> JSONResponse:
    async def handler(tx: Any, event_id: str) -> Any:
        cmd = ExecuteSwap(event_id, body.old_code, body.new_code, body.customer_id, body.occurred_at,
                          body.residual_kg, body.recycle_price_cny)
        return await handlers.execute_swap(tx, event_id, cmd, caller, services.codes)

    return await run_command(services, "swap", body, handler,
                             needs=handlers.swap_needs(body.old_code, body.new_code, body.customer_id))


@router.post("/{swap_id}/refund-deposit", status_code=201,
             summary="Refund the deposit when the user stops and returns the company cylinder")
async def post_refund(swap_id: str, body: RefundDepositIn, services: Svc, caller: Caller) -> JSONResponse:
    cmd = RefundDeposit(swap_id, body.returned_code, body.occurred_at)
    return await run_command(services, "refund_deposit", body,
                             lambda tx, eid: handlers.refund_deposit(tx, eid, cmd, caller), path={"swap_id": swap_id},
                             needs=handlers.refund_needs(swap_id, body.returned_code))
