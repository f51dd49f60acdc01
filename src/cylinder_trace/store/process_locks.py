"""Names a process holds for as long as it lives, so two processes sharing a database never take the same
one (the MQTT client id of an ingestor: a broker drops the older of two connections with one id).

PostgreSQL: a session-level advisory lock on the name's 64-bit hash, taken on a connection of its own
that is kept open (PostgreSQL releases it when the process exits or dies, even by SIGKILL: the
connection closes). SQLite, the single-host development database: an exclusive ``flock`` on a file
beside the database file (released by the kernel when the process exits). An in-memory SQLite database
belongs to one process: nothing to lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_TRY_LOCK: Final = sa.text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))")


@dataclass
class HeldName:
    """A name this process holds until :meth:`release` (or until it exits)."""

    name: str
    _conn: AsyncConnection | None = None
    _fd: int | None = None

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # the session ends (not back to the pool, where it would
                await self._conn.invalidate()     # live on): PostgreSQL releases its advisory locks
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
        if self._fd is not None:
            os.close(self._fd)  # the flock goes with the file descriptor
            self._fd = None


async def try_hold(engine: AsyncEngine, name: str) -> HeldName | None:
    """Hold ``name`` if no other holder has it (this process included); None when it is taken."""
    if engine.dialect.name == "postgresql":
        conn = await engine.connect()
        try:
            taken = bool((await conn.execute(_TRY_LOCK, {"name": f"process-name:{name}"})).scalar_one())
            await conn.commit()  # a session lock outlives the transaction; leave none open
        except BaseException:
            await conn.close()
            raise
        if not taken:
            await conn.close()
            return None
        return HeldName(name, _conn=conn)
    folder = _lock_folder(engine)
    if folder is None:
        return HeldName(name)
    return await asyncio.to_thread(_flock, folder, name)


def _lock_folder(engine: AsyncEngine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("mode") == "memory":
        return None
    path = Path(database).resolve()
    return path.parent / f".{path.name}.names"


def _flock(folder: Path, name: str) -> HeldName | None:
    folder.mkdir(parents=True, exist_ok=True)
    # the file name: readable, and unique for any name (characters a file name cannot hold are hashed)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    path = folder / f"{safe}.{hashlib.sha256(name.encode()).hexdigest()[:12]}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return HeldName(name, _fd=fd)
