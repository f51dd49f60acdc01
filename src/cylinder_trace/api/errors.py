"""The one place where meaning becomes an HTTP status."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..app.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, TooLarge
from ..store.event_store import EventIdConflict, StreamConflict

#: how much of a refused input the 422 answer shows again
_ECHO_DEPTH: Final = 4
_ECHO_ITEMS: Final = 20
_ECHO_CHARS: Final = 200


def json_safe(value: Any, depth: int = 0) -> Any:
    """A refused input as JSON can carry it: NaN and ±Infinity as text, deep or long values cut short
    (a client may send 5,000 nested arrays or a megabyte; the answer needs only the start of it)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= _ECHO_CHARS else value[:_ECHO_CHARS] + "…"
    if depth >= _ECHO_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, depth + 1) for k, v in list(value.items())[:_ECHO_ITEMS]}
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes | bytearray):
        return [json_safe(v, depth + 1) for v in list(value)[:_ECHO_ITEMS]]
    return json_safe(str(value), depth)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as the 422 body lists them: where, what, and the input (JSON-safe)."""
    out = []
    for error in errors:
        item = {"loc": [json_safe(part) for part in error.get("loc", ())], "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "value_error"))}
        if "input" in error:
            item["input"] = json_safe(error["input"])
        out.append(item)
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_errors(exc.errors())}, status_code=422)

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
