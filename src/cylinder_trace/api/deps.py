"""Dependencies: the services and the calling principal, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..app.principals import Principal, authenticate
from ..app.services import Services

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]


async def get_principal(
    services: Svc, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    token = credentials.credentials

    async def lookup() -> Principal | None:
        return await services.uow.read(lambda conn: authenticate(conn, token, services.settings.admin_token))

    principal = await services.principals.authenticate(token, lookup)
    if principal is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return principal


Caller = Annotated[Principal, Depends(get_principal)]
