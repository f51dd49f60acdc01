"""How a page answers when something goes wrong: the same meanings as the API (``api/errors.py``), shown
as a page in the reader's language instead of JSON; a page that needs a session sends the browser to
sign in and back."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from ..app import scans
from ..app.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, RateLimited, TooLarge
from ..store.event_store import EventIdConflict, StreamConflict
from .render import query, render
from .session import SignInRequired

#: the largest body a page accepts: a photo for the scan form and the form around it
MAX_BODY_BYTES: Final = scans.MAX_IMAGE_BYTES + 64 * 1024

_STATUS: Final[tuple[tuple[type[Exception], int], ...]] = (
    (NotFound, 404), (Forbidden, 403), (InvalidInput, 422), (RequestValidationError, 422), (Conflict, 409),
    (EventIdConflict, 409), (StreamConflict, 409), (TooLarge, 413), (RateLimited, 429),
)


def status_of(exc: Exception) -> int:
    if isinstance(exc, HTTPException):
        return exc.status_code
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)


def message_of(exc: Exception) -> str:
    if isinstance(exc, HTTPException):
        return exc.detail if isinstance(exc.detail, str) else "invalid input"
    if isinstance(exc, RequestValidationError):
        fields = [".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path"))
                  for e in exc.errors()]
        return "invalid input: " + ", ".join(f for f in fields if f)
    return str(exc)


def error_page(request: Request, exc: Exception) -> Response:
    timezone: str = request.app.state.services.settings.timezone
    status = status_of(exc)
    return render(request, "error.html", timezone, status=status, status_code=status, message=message_of(exc))


class PageRoute(APIRoute):
    """A page route: refuses an oversized body before parsing it, sends a browser without a session to
    sign in, and shows an error the reader can act on (never a JSON body, never a 500 for bad input)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                declared = request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                    raise TooLarge("the upload", scans.MAX_IMAGE_BYTES)
                return await handle(request)
            except SignInRequired:
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse("/signin" + query({"next": here}), status_code=303)
            except (AppError, RequestValidationError, HTTPException, EventIdConflict, StreamConflict) as exc:
                return error_page(request, exc)

        return page
