"""Fresh databases for tests, made by the real migrations.

PostgreSQL: one template database is migrated with ``alembic upgrade heads`` once per session, and
each test gets its own copy (``CREATE DATABASE … TEMPLATE``). SQLite: the migrated file is copied.
PostgreSQL is a required service: when it cannot be reached the tests fail, they never skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg

from cylinder_trace.store.migrate import upgrade

PG_ADMIN_DSN = os.environ.get("CT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
_RUN = uuid.uuid4().hex[:8]
TEMPLATE = f"ct_test_tmpl_{_RUN}"


def _sqlalchemy_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL is required for the tests and is not reachable at {PG_ADMIN_DSN}: {exc}"
        ) from exc


class PostgresDatabases:
    """Creates the migrated template once, then hands out copies and drops them after."""

    def __init__(self) -> None:
        self._made: list[str] = []
        self._template_ready = False

    async def fresh(self) -> str:
        conn = await _admin()
        try:
            if not self._template_ready:
                await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
                await conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
                await asyncio.to_thread(upgrade, _sqlalchemy_url(PG_ADMIN_DSN, TEMPLATE))
                self._template_ready = True
            name = f"ct_test_{_RUN}_{len(self._made)}"
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
            self._made.append(name)
            return _sqlalchemy_url(PG_ADMIN_DSN, name)
        finally:
            await conn.close()

    async def drop_all(self) -> None:
        conn = await _admin()
        try:
            for name in [*self._made, TEMPLATE]:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


class SqliteDatabases:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._template: Path | None = None
        self._count = 0

    async def fresh(self) -> str:
        if self._template is None:
            self._template = self.folder / "template.sqlite3"
            await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{self._template}")
        self._count += 1
        target = self.folder / f"test_{self._count}.sqlite3"
        shutil.copyfile(self._template, target)
        return f"sqlite+aiosqlite:///{target}"
