"""Generated requests against every operation in /openapi.json: no input may cause a 500.

The schema is read from the running service, on PostgreSQL (the backend production uses: it refuses
what SQLite lets through, such as NUL characters in text), and Hypothesis draws a bounded number of
requests per operation from schemathesis' strategies, sent with an admin token so that they reach the
handlers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case

from tests.support.databases import PostgresDatabases
from tests.support.server import running_api

TOKEN = "schemathesis-admin-token"
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
async def base_url(tmp_path_factory: pytest.TempPathFactory, pg_databases: PostgresDatabases) -> AsyncIterator[str]:
    workdir = Path(tmp_path_factory.mktemp("schemathesis"))
    with running_api(await pg_databases.fresh(), TOKEN, workdir) as base:
        yield base


def documented_unready(case: Case, status: int) -> bool:
    """``/readyz`` answers 503 while the broker this server would ingest from is away (none runs here)."""
    return status == 503 and case.formatted_path == "/readyz"


def test_no_input_causes_a_server_error(base_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, "every /api/v1 operation must be described in /openapi.json"
    failures: list[str] = []
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
            calls.append(response.status_code)
            if response.status_code >= 500 and not documented_unready(case, response.status_code):
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:200]}")

        run()
    assert failures == []
    assert len(calls) >= 2 * len(operations), "schemathesis sent too few requests to mean anything"
    assert {200, 422} & set(calls) and 404 in calls
