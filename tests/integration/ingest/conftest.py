"""PostgreSQL-only services and client for the valve side's tests that need what SQLite lacks
(several writers at once, statements that take a whole batch)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cylinder_trace.app.services import Services, build_services
from cylinder_trace.settings import Settings
from tests.conftest import ADMIN_TOKEN, Clock


@pytest.fixture
async def pg_services(pg_url: str, clock: Clock) -> AsyncIterator[Services]:
    settings = Settings(database_url=pg_url, admin_token=ADMIN_TOKEN, embedded_broker=False, sweep_interval_s=0)
    services = build_services(settings, clock=clock)
    yield services
    await services.close()
