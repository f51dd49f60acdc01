"""Security tests run on PostgreSQL, the backend production uses (NUL characters, offsets, locks)."""

from __future__ import annotations

import pytest


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url
