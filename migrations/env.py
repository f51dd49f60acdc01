"""Alembic environment: async engines, URL from the settings (or ``-x url=...``)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from cylinder_trace.settings import get_settings
from cylinder_trace.store.db import create_engine
from cylinder_trace.store.tables import metadata

config = context.config
target_metadata = metadata


def _url() -> str:
    return str(config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
               or get_settings().database_url)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())
