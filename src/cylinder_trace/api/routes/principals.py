"""API tokens: made (shown once, stored hashed) and revoked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...app.principals import NewPrincipal, create_principal, revoke_principal
from ...app.unit_of_work import Tx
from ..commands import REFUSAL_RESPONSES
from ..deps import Caller, Svc
from ..schemas import PrincipalIn, PrincipalOut

router = APIRouter(prefix="/api/v1", tags=["principals"], responses=REFUSAL_RESPONSES)


@router.post("/principals", status_code=201, response_model=PrincipalOut)
async def post_principal(body: PrincipalIn, services: Svc, caller: Caller) -> PrincipalOut:
    """Create a principal; the token is shown only in this answer and stored hashed. An admin makes any;
    a company admin only company_admin, station_operator and delivery_worker tokens of its own company."""
    spec = NewPrincipal(**body.model_dump())

    async def handler(tx: Tx) -> tuple[str, str]:
        return await create_principal(tx.conn, spec, caller, tx.now)

    principal_id, token = await services.uow.write(handler)
    return PrincipalOut(id=principal_id, token=token)


@router.delete("/principals/{principal_id}", summary="Revoke a token at once (admin; a company admin its own "
               "company's): later requests with it are refused with 401")
async def delete_principal(principal_id: str, services: Svc, caller: Caller) -> JSONResponse:
    async def handler(tx: Tx) -> dict[str, Any]:
        return await revoke_principal(tx.conn, principal_id, caller, tx.now)

    revoked = await services.uow.write(handler)
    services.principals.clear()  # this process at once; the others on the change's notification
    return JSONResponse(revoked)
