from __future__ import annotations

from fastapi import APIRouter

from ...app.principals import NewPrincipal, create_principal
from ...app.unit_of_work import Tx
from ..commands import REFUSAL_RESPONSES
from ..deps import Caller, Svc
from ..schemas import PrincipalIn, PrincipalOut

router = APIRouter(prefix="/api/v1", tags=["principals"], responses=REFUSAL_RESPONSES)


@router.post("/principals", status_code=201, response_model=PrincipalOut)
async def post_principal(body: PrincipalIn, services: Svc, caller: Caller) -> PrincipalOut:
    """Create a principal; the token is shown only in this answer and stored hashed."""
    spec = NewPrincipal(**body.model_dump())

    async def handler(tx: Tx) -> tuple[str, str]:
        return await create_principal(tx.conn, spec, caller, tx.now)

    principal_id, token = await services.uow.write(handler)
    return PrincipalOut(id=principal_id, token=token)
