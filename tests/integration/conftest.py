"""What integration tests in several folders share: an HTTP client on the folder's own ``pg_services``
(PostgreSQL-only services each folder builds to its needs) and a Mosquitto that can be stopped and
started again on the same port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import Services
from tests.conftest import ADMIN_TOKEN
from tests.integration.ingest.infra import RestartableMosquitto


@pytest.fixture
async def pg_client(pg_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(pg_services.settings, pg_services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield c


@pytest.fixture
def broker() -> Iterator[RestartableMosquitto]:
    mosquitto = RestartableMosquitto()
    mosquitto.start()
    yield mosquitto
    mosquitto.destroy()
