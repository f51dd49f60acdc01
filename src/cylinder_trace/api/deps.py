"""Dependencies: the services and the calling principal, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..app.principals import Principal, authenticate
from ..app.services import Services

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]


async def principal_of(services: Services, token: str) -> Principal | None:
    """The principal a token stands for now (the API's bearer token, the pages' session), or None."""

    async def lookup() -> Principal | None:
        now = services.uow.clock()
        return await services.uow.read(lambda conn: authenticate(conn, token, services.settings.admin_token, now))

    return await services.principals.authenticate(token, lookup)


async def get_principal(
    services: Svc, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    principal = await principal_of(services, credentials.credentials)
    if principal is None:
        raise HTTPException(401, "unknown, expired or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


async def refuse_nul_characters(request: Request) -> None:
    """No path segment or query parameter may hold a NUL character (PostgreSQL keeps none in text): 422
    naming it, for every route (the app's own dependency; ``async``, or FastAPI would run it in a worker
    thread for every request)."""
    bad = [["path", name] for name, value in request.path_params.items() if "\x00" in str(value)]
    bad += [["query", name] for name, value in request.query_params.multi_items() if "\x00" in name + value]
    if bad:
        raise RequestValidationError([{"loc": loc, "msg": "must not contain the NUL character",
                                       "type": "value_error"} for loc in bad])
