"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..app.services import Services, build_services
from ..settings import Settings, get_settings
from .errors import install_error_handlers
from .routes import checks, cylinders, epcis, findings, health, ledgers, principals, registries, swaps, work


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The API. Given ``services`` (tests), it uses them and leaves closing them to the caller."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        app.state.services = services or build_services(settings)
        try:
            yield
        finally:
            if own:
                await app.state.services.close()

    app = FastAPI(
        title="cylinder-trace",
        version="1",
        summary="Lifecycle traceability for LPG cylinders (一瓶一码)",
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    install_error_handlers(app)
    for module in (health, principals, registries, cylinders, work, checks, swaps, findings, ledgers, epcis):
        app.include_router(module.router)
    return app
