"""Engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), and dialect-neutral helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def loads_json(text: str | bytes) -> Any:
    """JSON columns as Python values: orjson (several times faster than ``json``) for what it reads, the
    standard library for what it refuses (integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps_json(value: Any) -> str:
    """JSON columns as text: orjson (several times faster than ``json``), the standard library for what
    orjson refuses (integers beyond 64 bits). Only the hash chain needs one exact form of the text, and
    it is computed apart (``domain/canonical.py``), not from this."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, json_serializer=dumps_json,
                                     json_deserializer=loads_json)
        _sqlite_pragmas(engine)
        return engine
    # no pre-ping: asyncpg's ping is a BEGIN, a query and a ROLLBACK on every checkout. A connection the
    # server dropped fails its first statement instead; SQLAlchemy then discards the pool's connections,
    # and the unit of work tries a read (and the appender a batch) again on a new one.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, json_serializer=dumps_json,
                               json_deserializer=loads_json)


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout, and explicit ``BEGIN IMMEDIATE`` so writers queue cleanly."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


async def upsert(
    conn: AsyncConnection, table: sa.Table, keys: Sequence[str], values: Mapping[str, Any]
) -> None:
    """Insert ``values`` or, when a row with the same ``keys`` exists, update it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
    updates = {k: stmt.excluded[k] for k in values if k not in keys}
    await conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates))


def any_of(conn: AsyncConnection, column: sa.ColumnElement[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """``column IN values``: on PostgreSQL one array parameter (``= ANY``), so the statement is the same
    whatever the number of values and is prepared once; on SQLite an ordinary ``IN`` list."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))


async def upsert_many(
    conn: AsyncConnection, table: sa.Table, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """:func:`upsert` of many rows with the same columns in one statement (executemany)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    updates = {k: stmt.excluded[k] for k in rows[0] if k not in keys}
    on_conflict = (stmt.on_conflict_do_update(index_elements=list(keys), set_=updates) if updates
                   else stmt.on_conflict_do_nothing(index_elements=list(keys)))
    await conn.execute(on_conflict, list(rows))


async def lock_name(conn: AsyncConnection, name: str) -> None:
    """Hold a lock on ``name`` until the transaction ends (PostgreSQL: a transaction-level advisory lock on
    the name's 64-bit hash; SQLite has one writer at a time already)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})


#: PostgreSQL error classes worth waiting out: connection exception, transaction rollback (deadlock,
#: serialization), insufficient resources, operator intervention (shutdown, starting up), system error
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def is_transient(exc: BaseException) -> bool:
    """A failure that waiting can cure (the database or the network), not one of the data."""
    if isinstance(exc, OSError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES:
            return True
        if isinstance(exc, sa.exc.OperationalError):
            return True  # SQLite: database is locked, disk I/O; asyncpg: connection trouble
    cause = exc.__cause__
    return cause is not None and cause is not exc and is_transient(cause)
