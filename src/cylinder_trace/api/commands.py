"""Running a command from a route: idempotent by the client's ``event_id``, stored with the commands
that arrive beside it (group commit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..app.services import Services
from ..app.unit_of_work import Needs, Outcome, Tx
from .responses import FastJSONResponse


async def command_outcome(
    services: Services, kind: str, body: BaseModel, handler: Callable[[Tx, str], Awaitable[Outcome]], *,
    path: Mapping[str, str] | None = None, event_id: str | None = None, needs: Needs | None = None,
) -> Outcome:
    """``path``: the ids the URL names (a cylinder's code, a swap's id). They are part of what a client's
    ``event_id`` stands for, so the same ``event_id`` and body sent for another cylinder is a conflict, not
    a repeat. ``event_id``: when the body's is optional, the one to use instead. ``needs``: what the command
    reads and changes (see :class:`~cylinder_trace.app.batch.Needs`); without it the command is stored in a
    transaction of its own."""
    payload: dict[str, Any] = body.model_dump(mode="json")
    command_id = event_id or str(payload["event_id"])
    identity = {**payload, "path": dict(path)} if path else payload
    return await services.uow.command(kind, command_id, identity, lambda tx: handler(tx, command_id), needs)


async def run_command(
    services: Services, kind: str, body: BaseModel, handler: Callable[[Tx, str], Awaitable[Outcome]], *,
    path: Mapping[str, str] | None = None, event_id: str | None = None, needs: Needs | None = None,
) -> JSONResponse:
    """:func:`command_outcome` as the JSON answer (the web pages take the outcome itself)."""
    outcome = await command_outcome(services, kind, body, handler, path=path, event_id=event_id, needs=needs)
    return FastJSONResponse(outcome.body, status_code=outcome.status)


REFUSAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or bad token"},
    403: {"description": "not allowed for this token"},
    404: {"description": "unknown id or code"},
    409: {"description": "event_id reused with another body, or a concurrent change"},
    422: {"description": "invalid input (names the field) or refused by rules (lists every violation)"},
}
