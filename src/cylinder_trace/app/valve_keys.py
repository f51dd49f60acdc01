"""The valves' secrets (``registry_secrets``, beside the valve registry), cached for a short while."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from ..store.valves import valve_secrets


@dataclass(frozen=True, slots=True)
class ValveKey:
    valve_id: str
    secret: bytes
    company_id: str | None
    fetched_at: float


class ValveKeys:
    """``valve_id`` → secret. A known valve is re-read after ``ttl`` seconds (a secret may be changed
    with PATCH); an unknown one is looked up every time it is asked for, so a valve registered a moment
    ago is never refused as unknown."""

    def __init__(self, engine: AsyncEngine, ttl: float = 30.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._keys: dict[str, ValveKey] = {}

    async def get(self, valve_ids: Iterable[str], *, fresh: bool = False) -> dict[str, ValveKey]:
        wanted = set(valve_ids)
        now = time.monotonic()
        stale = {v for v in wanted if fresh or v not in self._keys or now - self._keys[v].fetched_at > self.ttl}
        if stale:
            await self._load(stale, now)
        return {v: self._keys[v] for v in wanted if v in self._keys}

    async def _load(self, valve_ids: set[str], now: float) -> None:
        async with self.engine.connect() as conn:
            rows = await valve_secrets(conn, valve_ids)
        found = set()
        for row in rows:
            try:
                secret = bytes.fromhex(row.secret or "")
            except (ValueError, TypeError):
                continue  # an entry without a usable secret verifies nothing
            if not secret:
                continue
            self._keys[row.valve_id] = ValveKey(row.valve_id, secret, row.company_id, now)
            found.add(row.valve_id)
        for gone in valve_ids - found:
            self._keys.pop(gone, None)
