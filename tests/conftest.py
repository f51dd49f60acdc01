"""Shared fixtures: a fresh migrated database per test (SQLite and PostgreSQL), the services on it,
an HTTP client on the real ASGI app, and a clock tests can move."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import Services, build_services
from cylinder_trace.settings import Settings
from tests.support.databases import PostgresDatabases, SqliteDatabases

ADMIN_TOKEN = "test-admin-token"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
async def pg_databases() -> AsyncIterator[PostgresDatabases]:
    dbs = PostgresDatabases()
    yield dbs
    await dbs.drop_all()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(Path(tmp_path_factory.mktemp("sqlite")))


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(
    request: pytest.FixtureRequest, sqlite_databases: SqliteDatabases, pg_databases: PostgresDatabases
) -> str:
    if request.param == "postgres":
        return await pg_databases.fresh()
    return await sqlite_databases.fresh()


@pytest.fixture
async def pg_url(pg_databases: PostgresDatabases) -> str:
    return await pg_databases.fresh()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, admin_token=ADMIN_TOKEN, embedded_broker=False, sweep_interval_s=0)


@pytest.fixture
async def services(settings: Settings, clock: Clock) -> AsyncIterator[Services]:
    svc = build_services(settings, clock=clock)
    yield svc
    await svc.close()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services.settings, services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield c


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
