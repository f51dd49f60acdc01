"""The one place where meaning becomes an HTTP status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..app.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, TooLarge
from ..store.event_store import EventIdConflict, StreamConflict


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        loc = ["body", *exc.field.split(".")]
        return JSONResponse(
            {"detail": [{"loc": loc, "msg": exc.reason, "type": "value_error"}]}, status_code=422
        )

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(EventIdConflict)
    async def _event_id(_: Request, exc: EventIdConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(StreamConflict)
    async def _stream(_: Request, exc: StreamConflict) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "expected_version": exc.expected, "actual_version": exc.actual},
            status_code=409,
        )

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429,
                            headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(TooLarge)
    async def _too_large(_: Request, exc: TooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "limit_bytes": exc.limit_bytes}, status_code=413)
