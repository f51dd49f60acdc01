"""``/api/v1/checkpoints``: take one now, read them, and export a cylinder's history with its inclusion
proof (admin, regulator). The format: ``docs/checkpoints.md``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app import checkpoints as handlers
from ..deps import Caller, Svc

router = APIRouter(prefix="/api/v1/checkpoints", tags=["checkpoints"])

Sequence = Annotated[int, Path(ge=1, description="the checkpoint's sequence number (1, 2, …)")]


@router.post("", status_code=201, summary="Take a checkpoint now: a signed Merkle root over every stream's head")
async def take(services: Svc, caller: Caller) -> JSONResponse:
    caller.require(*handlers.CHECKPOINT_ROLES)
    return JSONResponse(await handlers.take_checkpoint(services.uow, services.settings, caller.actor), 201)


@router.get("/latest", summary="The newest checkpoint, with its signature and public key")
async def latest(services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await handlers.read_checkpoint(conn, None, caller)

    return JSONResponse(await services.uow.read(reader))


@router.get("/{sequence}", summary="One checkpoint, with its signature and public key")
async def one(sequence: Sequence, services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await handlers.read_checkpoint(conn, sequence, caller)

    return JSONResponse(await services.uow.read(reader))


@router.get("/{sequence}/cylinders/{code}",
            summary="A cylinder's history as of the checkpoint, with its inclusion proof (a file to keep)")
async def proof(sequence: Sequence, code: str, services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await handlers.export_proof(conn, code, sequence, caller)

    body = await services.uow.read(reader)
    filename = f"checkpoint-{sequence}-{body['stream_id'].removeprefix('cylinder:')}.json"
    return JSONResponse(body, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
