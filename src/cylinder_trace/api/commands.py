"""Running a command from a route: idempotent by the client's ``event_id``, one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..app.services import Services
from ..app.unit_of_work import Outcome, Tx


async def run_command(
    services: Services, kind: str, body: BaseModel, handler: Callable[[Tx, str], Awaitable[Outcome]]
) -> JSONResponse:
    payload: dict[str, Any] = body.model_dump(mode="json")
    event_id = str(payload["event_id"])
    outcome = await services.uow.command(kind, event_id, payload, lambda tx: handler(tx, event_id))
    return JSONResponse(outcome.body, status_code=outcome.status)


REFUSAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or bad token"},
    403: {"description": "not allowed for this token"},
    404: {"description": "unknown id or code"},
    409: {"description": "event_id reused with another body, or a concurrent change"},
    422: {"description": "invalid input (names the field) or refused by rules (lists every violation)"},
}
