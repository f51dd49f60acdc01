"""Tokens already authenticated, kept for a few seconds, so most requests cost no database round trip.

A change to the principals (a token revoked, a principal changed) must take effect at once, in every
process. On PostgreSQL each change sends ``NOTIFY ct_principals`` in its own transaction
(:func:`principals_changed`), and every process listens on a connection of its own: a notification
empties its cache. While the listener is not connected (starting, or the database away) nothing is
cached and every request is looked up. On SQLite (one process, development) nothing is cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .principals import Principal, hash_token

log = logging.getLogger("cylinder_trace.principals")

CHANNEL: Final = "ct_principals"
#: a cached token is looked up again after this long even without a notification
TTL_S: Final = 30.0


async def principals_changed(conn: AsyncConnection) -> None:
    """Tell every process, when the transaction commits, that principals changed (their caches empty)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text(f"NOTIFY {CHANNEL}"))


class PrincipalCache:
    def __init__(self, engine: AsyncEngine, ttl_s: float = TTL_S) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._listening = False
        self._task: asyncio.Task[None] | None = None
        self.enabled = engine.dialect.name == "postgresql"

    async def authenticate(self, token: str, lookup: Callable[[], Awaitable[Principal | None]]) -> Principal | None:
        """The principal of ``token``: cached, or from ``lookup()`` (cached when found)."""
        if not self.enabled:
            return await lookup()
        self._ensure_listening()
        key = hash_token(token)
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and cached[1] > now and self._listening and _unexpired(cached[0]):
            return cached[0]
        principal = await lookup()
        if principal is None:
            self._entries.pop(key, None)
        elif self._listening:
            self._entries[key] = (principal, now + self.ttl_s)
        return principal

    def clear(self) -> None:
        self._entries.clear()

    def _ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="principal cache listener")

    async def _listen(self) -> None:
        """Hold a connection that listens for changes; reconnect when it is lost."""
        delay = 0.5
        while True:
            try:
                async with self.engine.connect() as conn:
                    raw: Any = (await conn.get_raw_connection()).driver_connection
                    lost = asyncio.Event()
                    await raw.add_listener(CHANNEL, lambda *_: self.clear())
                    raw.add_termination_listener(lambda *_, lost=lost: lost.set())
                    self.clear()
                    self._listening = True
                    delay = 0.5
                    while not lost.is_set() and not raw.is_closed():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(lost.wait(), 5.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("listening for principal changes failed (%s); tokens are looked up each time", exc)
            finally:
                self._listening = False
                self.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def close(self) -> None:
        self._listening = False
        self.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def _unexpired(principal: Principal) -> bool:
    expires_at: datetime | None = getattr(principal, "expires_at", None)
    return expires_at is None or expires_at > datetime.now(UTC)
