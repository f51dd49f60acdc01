"""Engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), and dialect-neutral helpers."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
    # every statement planned for its own parameters: the driver prepares each statement once per
    # connection, and after five runs PostgreSQL would settle on one generic plan — for an array lookup
    # made while a table was still small, a sequential scan that later compares every row with every
    # element (measured: 29 ms instead of 0.6 ms for 256 stream ids among 10,000 streams)
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, json_serializer=dumps_json,
                               json_deserializer=loads_json,
                               connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}})


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


@dataclass(frozen=True, slots=True)
class Write:
    """Rows for one table, all with the same columns; with ``keys``, an upsert on them (no two rows with
    the same keys)."""

    table: sa.Table
    rows: Sequence[Mapping[str, Any]]
    keys: tuple[str, ...] | None = None


async def insert_many(conn: AsyncConnection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all have the same columns, in one statement (PostgreSQL: one array per column)."""
    await write_together(conn, [Write(table, rows)])


async def upsert_many(
    conn: AsyncConnection, table: sa.Table, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """:func:`upsert` of many rows with the same columns (no two with the same ``keys``) in one statement."""
    await write_together(conn, [Write(table, rows, tuple(keys))])


async def write_together(conn: AsyncConnection, writes: Sequence[Write]) -> None:
    """Several :class:`Write` at once: on PostgreSQL one statement (each table's rows as one JSON
    parameter, the tables chained as data-modifying CTEs), one round trip whatever their number; on
    SQLite one executemany each."""
    writes = [w for w in writes if w.rows]
    if not writes:
        return
    if conn.dialect.name != "postgresql":
        for w in writes:
            await _sqlite_write(conn, w)
        return
    parts: list[str] = []
    params: dict[str, Any] = {}
    for n, w in enumerate(writes):
        columns = tuple(w.rows[0])
        rows = _rows_json(w) if _json_rows_fit(w.table, columns) else None
        if rows is not None:
            parts.append(_json_rows_statement(w.table, columns, w.keys, f"w{n}"))
            params[f"w{n}"] = rows
            continue
        sql, convert = _unnest_statement(w.table, columns, w.keys, f"w{n}_")
        parts.append(sql)
        params.update({f"w{n}_{i}": [convert[i](row[c]) for row in w.rows] for i, c in enumerate(columns)})
    await conn.execute(_chained(tuple(parts)), params)


def _rows_json(w: Write) -> str | None:
    """The rows as one JSON array of objects (orjson: dates and times in ISO 8601 with their offset), or
    None when orjson cannot write them (a value it does not know, an integer beyond 64 bits): the rows
    then go as arrays."""
    try:
        rows = w.rows if isinstance(w.rows, list) else list(w.rows)
        return orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC).decode()
    except TypeError:
        return None


@functools.lru_cache(maxsize=256)
def _json_rows_fit(table: sa.Table, columns: tuple[str, ...]) -> bool:
    """Whether the columns can travel as JSON (binary ones cannot)."""
    return not any(isinstance(table.c[name].type, sa.LargeBinary) for name in columns)


@functools.lru_cache(maxsize=256)
def _json_rows_statement(table: sa.Table, columns: tuple[str, ...], keys: tuple[str, ...] | None, name: str
                         ) -> str:
    """``INSERT … SELECT … FROM json_populate_recordset(NULL::table, :name)``: PostgreSQL reads each value
    with the column's own type from one JSON parameter; JSON columns take their value's text as it is.
    One text parameter instead of an array per column: the driver encodes it without looking at every
    element (measured in-process: a registration 240 → 191–218 µs of CPU; ``bench/RESULTS.md``)."""
    names = ", ".join(f'"{c}"' for c in columns)
    sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {names} '
           f'FROM json_populate_recordset(NULL::"{table.name}", CAST(:{name} AS json))')
    return sql + _on_conflict(columns, keys)


@functools.lru_cache(maxsize=256)
def _chained(parts: tuple[str, ...]) -> sa.TextClause:
    """The statements as one, chained as data-modifying CTEs; built once per combination of tables and
    columns (its bind parameters parsed once, its compiled form found in the cache by the same object)."""
    *first, last = parts
    if not first:
        return sa.text(last)
    return sa.text("WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(first)) + " " + last)


async def _sqlite_write(conn: AsyncConnection, w: Write) -> None:
    stmt = sqlite.insert(w.table)
    if w.keys is not None:
        updates = {k: stmt.excluded[k] for k in w.rows[0] if k not in w.keys}
        stmt = (stmt.on_conflict_do_update(index_elements=list(w.keys), set_=updates) if updates
                else stmt.on_conflict_do_nothing(index_elements=list(w.keys)))
    await conn.execute(stmt, list(w.rows))


@functools.lru_cache(maxsize=256)
def _unnest_statement(table: sa.Table, columns: tuple[str, ...], keys: tuple[str, ...] | None, prefix: str
                      ) -> tuple[str, list[Callable[[Any], Any]]]:
    """``INSERT … SELECT * FROM unnest(:p0, :p1, …)`` for PostgreSQL, and how each value goes into its
    array (JSON columns travel as text)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays: list[str] = []
    convert: list[Callable[[Any], Any]] = []
    for i, name in enumerate(columns):
        column_type = table.c[name].type
        impl = column_type.dialect_impl(dialect)
        impl = getattr(impl, "impl", impl)
        if isinstance(impl, sa.JSON):
            type_name = "jsonb" if isinstance(impl, postgresql.JSONB) else "json"
            arrays.append(f"CAST(CAST(:{prefix}{i} AS text[]) AS {type_name}[])")
            convert.append(_json_text)
        else:
            arrays.append(f"CAST(:{prefix}{i} AS {impl.compile(dialect=dialect)}[])")
            convert.append(_as_is)
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({", ".join(arrays)})'
    return sql + _on_conflict(columns, keys), convert


def _on_conflict(columns: tuple[str, ...], keys: tuple[str, ...] | None) -> str:
    """An upsert on ``keys`` (none: a plain insert)."""
    if keys is None:
        return ""
    updates = [c for c in columns if c not in keys]
    target = ", ".join(f'"{k}"' for k in keys)
    return (f" ON CONFLICT ({target}) DO UPDATE SET " + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in updates)
            if updates else f" ON CONFLICT ({target}) DO NOTHING")


def _as_is(value: Any) -> Any:
    return value


def _json_text(value: Any) -> str | None:
    return None if value is None else dumps_json(value)


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
