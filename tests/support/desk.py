"""Using the desk's pages as a browser does, without one: sign in through the form, keep the session
cookie, send each form with its CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import Services
from tests.support import factories as f

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_EVENT_ID = re.compile(r'name="event_id" value="([^"]+)"')


def form_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no form token"
    return found.group(1)


def form_event_id(html: str) -> str:
    found = _EVENT_ID.search(html)
    assert found is not None, "the page has no form with an event_id"
    return found.group(1)


@dataclass
class Desk:
    """A signed-in browser: ``client`` holds the session cookie; ``csrf`` is the session's form token."""

    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params or None)

    async def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.csrf, **(data or {})}, **kwargs)


def browser(services: Services, base_url: str = "http://test") -> httpx.AsyncClient:
    """A client on the app with no bearer token and its own cookie jar."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services.settings, services)),
                             base_url=base_url)


async def sign_in(client: httpx.AsyncClient, token: str, next_path: str = "/desk") -> httpx.Response:
    """The sign-in form filled in and sent; returns the answer to the POST."""
    form = await client.get("/signin", params={"next": next_path})
    assert form.status_code == 200, form.text
    return await client.post("/signin", data={"token": token, "csrf": form_token(form.text), "next": next_path})


@asynccontextmanager
async def desk(services: Services, token: str) -> AsyncIterator[Desk]:
    """A browser signed in with ``token``."""
    async with browser(services) as client:
        answer = await sign_in(client, token)
        assert answer.status_code == 303, answer.text
        home = await client.get("/desk")
        assert home.status_code == 200, home.text
        yield Desk(client, form_token(home.text))


async def token_of(c: httpx.AsyncClient, role: str, **scope: str) -> str:
    """A new principal's raw token (the factories' ``token`` gives headers)."""
    return (await f.token(c, role, **scope))["Authorization"].removeprefix("Bearer ")
