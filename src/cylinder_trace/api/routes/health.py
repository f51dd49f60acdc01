"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncConnection

from ..deps import Svc

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database (and the broker, when this process runs the MQTT side) can be reached",
            responses={503: {"description": "Not ready: ``checks`` names what cannot be reached"}})
async def readyz(services: Svc) -> JSONResponse:
    checks: dict[str, Any] = {}

    async def ping(conn: AsyncConnection) -> None:
        await conn.execute(sa.text("SELECT 1"))

    try:
        await services.uow.read(ping)
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure instead of raising it
        checks["database"] = f"unreachable: {type(exc).__name__}"
    for name, probe in services.readiness_probes.items():
        checks[name] = "ok" if probe() else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
