"""No route depends on a plain function: FastAPI runs a ``def`` dependency in a worker thread, a thread
hop for every request (one on every route once cost a registration a third of its CPU)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from cylinder_trace.api.main import create_app
from cylinder_trace.settings import Settings


def dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependencies(sub)


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every API route, through the routers included in the app."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        router = getattr(route, "original_router", None)
        if router is not None:
            yield from api_routes(list(router.routes))


def runs_on_the_loop(call: Any) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(target)


def test_every_dependency_of_every_route_is_async() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", embedded_broker=False))
    routes = list(api_routes(list(app.routes)))
    assert len(routes) > 50
    app_wide = [d.dependency for d in app.router.dependencies if d.dependency is not None]
    threaded = sorted({f"{route.path}: {getattr(call, '__qualname__', call)}" for route in routes
                       for call in [*dependencies(route.dependant), *app_wide] if not runs_on_the_loop(call)})
    assert threaded == [], threaded
