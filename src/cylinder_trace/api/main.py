"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from ..app.services import Services, build_services
from ..runtime import Runtime, tune_gc_for_streaming
from ..settings import Settings, get_settings
from ..web import desk
from ..web.render import STATIC_PATH
from .deps import refuse_nul_characters
from .errors import install_error_handlers
from .routes import (
    audit,
    checks,
    cylinders,
    devices,
    epcis,
    findings,
    health,
    ledgers,
    principals,
    registries,
    swaps,
    work,
)
from .routes.checkpoints import router as checkpoints_router
from .routes.labels import router as labels_router
from .routes.labels import scan_router
from .routes.public import router as public_router


def create_app(
    settings: Settings | None = None, services: Services | None = None, *, runtime: bool | None = None
) -> FastAPI:
    """The API. Given ``services`` (tests), it uses them and leaves closing them to the caller.

    ``runtime``: also run the MQTT side (embedded broker, ingestor, valve commands) and the schedule
    while the app runs; by default only when the app builds its own services (``serve``).
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        app.state.services = services or build_services(settings)
        background = Runtime(app.state.services) if (own if runtime is None else runtime) else None
        if background is not None:
            await background.start()
            app.state.runtime = background
        if own:  # a server process of its own (serve, a uvicorn worker): tune the collector for it
            tune_gc_for_streaming()
        try:
            yield
        finally:
            if background is not None:
                await background.stop()
            if own:
                await app.state.services.close()

    app = FastAPI(
        title="cylinder-trace",
        version="1",
        summary="Lifecycle traceability for LPG cylinders (一瓶一码)",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul_characters)],
    )
    if services is not None:
        app.state.services = services
    install_error_handlers(app)
    # routes are matched in this order: the writes stations, workers and valves send most come first
    for module in (work, cylinders, checks, swaps, registries, principals, devices, findings, ledgers, epcis, audit,
                   health):
        app.include_router(module.router)
    app.include_router(checkpoints_router)
    app.include_router(labels_router)
    app.include_router(scan_router)
    app.include_router(public_router)
    app.include_router(desk.router)
    app.mount(STATIC_PATH, StaticFiles(packages=[("cylinder_trace.web", "static")]), name="static")
    return app
