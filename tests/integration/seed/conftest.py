"""The seed's rules on PostgreSQL: a client on a fresh migrated database, with the shipped policy or the
test module's own policy file (override the ``policy_file`` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cylinder_trace.app.services import Services, build_services
from cylinder_trace.settings import Settings
from tests.conftest import ADMIN_TOKEN, Clock


@pytest.fixture
def policy_file() -> Path | None:
    return None


@pytest.fixture
async def pg_services(pg_url: str, clock: Clock, policy_file: Path | None) -> AsyncIterator[Services]:
    settings = Settings(database_url=pg_url, admin_token=ADMIN_TOKEN, embedded_broker=False, sweep_interval_s=0,
                        policy_file=policy_file)
    services = build_services(settings, clock=clock)
    yield services
    await services.close()
