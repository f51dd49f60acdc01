"""The floor for an HTTP write on this machine: FastAPI + asyncpg, a pydantic body, one INSERT per
request into a table with a jsonb column and a unique index. The write benchmarks run it beside the
service, with the same clients and the same bodies, and report the service's rate as a ratio of it.

    CT_BASELINE_DSN=postgresql://postgres@127.0.0.1/db uvicorn --factory bench.baseline_app:create_app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

TABLE = """
CREATE TABLE IF NOT EXISTS baseline_writes (
    id bigserial PRIMARY KEY, event_id uuid NOT NULL, kind text NOT NULL, body jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now());
CREATE UNIQUE INDEX IF NOT EXISTS baseline_writes_event_id ON baseline_writes (event_id);
"""


class Checks(BaseModel):
    pre_fill_ok: bool
    post_fill_ok: bool
    leak_ok: bool


class FillIn(BaseModel):
    event_id: str = Field(min_length=36, max_length=36)
    code: str = Field(min_length=15, max_length=30)
    station_id: str = Field(max_length=64)
    filler_id: str = Field(max_length=64)
    occurred_at: datetime
    net_mass_kg: float = Field(ge=0, le=100)
    checks: Checks


class Owner(BaseModel):
    company_id: str | None = None
    customer_id: str | None = None


class CylinderIn(BaseModel):
    event_id: str = Field(min_length=36, max_length=36)
    serial: str | None = None
    model: str
    manufacturer_code: str
    manufactured_on: date
    owner: Owner
    last_inspected_on: date | None = None


def create_app() -> FastAPI:
    dsn = os.environ["CT_BASELINE_DSN"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=4, max_size=16)
        async with pool.acquire() as conn:
            await conn.execute(TABLE)
        app.state.pool = pool
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    async def insert(request: Request, kind: str, body: BaseModel, event_id: str) -> JSONResponse:
        pool: Any = request.app.state.pool
        await pool.execute("INSERT INTO baseline_writes (event_id, kind, body) VALUES ($1, $2, $3::jsonb)",
                           event_id, kind, body.model_dump_json())
        return JSONResponse({"event_id": event_id, "kind": kind}, status_code=201)

    @app.post("/api/v1/fills", status_code=201)
    async def fill(body: FillIn, request: Request) -> JSONResponse:
        return await insert(request, "fill", body, body.event_id)

    @app.post("/api/v1/cylinders", status_code=201)
    async def cylinder(body: CylinderIn, request: Request) -> JSONResponse:
        return await insert(request, "register", body, body.event_id)

    return app
