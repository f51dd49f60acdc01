"""MQTT client ids that no two processes sharing a database hold at once, and that a process restarted
on the same host gets back.

A broker allows one connection per client id: a second process connecting with the id of a first
makes the broker drop the first, which reconnects and drops the second, twice a second. So an id is
*claimed* before connecting and held for the life of the process (:mod:`cylinder_trace.store.process_locks`):

* a default id is numbered: ``<base>-0``, ``<base>-1``, … — the lowest free number. A process that
  restarts while the others keep running takes its number (and its persistent session) back.
* an id given explicitly (``ingest --client-id``) is claimed as it is; when another process holds it,
  the claim waits a little (a process just killed releases it within moments) and then refuses with a
  message that says so.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from ..store.process_locks import HeldName, try_hold

#: numbered ids tried before giving up
MAX_NUMBERED: Final = 64
#: an MQTT client id this long is accepted by every broker we know (Mosquitto, EMQX); 3.1.1 promises 23
MAX_LENGTH: Final = 64


class ClientIdTaken(Exception):
    """The client id is held by another process on this database."""


@dataclass
class ClaimedClientId:
    client_id: str
    #: its number when it was numbered (None: given explicitly)
    number: int | None
    held: HeldName

    async def release(self) -> None:
        await self.held.release()


def numbered(base: str, number: int) -> str:
    suffix = f"-{number}"
    return base[:MAX_LENGTH - len(suffix)] + suffix


def _lock_name(client_id: str) -> str:
    return f"mqtt-client-id:{client_id}"


async def claim_numbered(engine: AsyncEngine, base: str) -> ClaimedClientId:
    """The lowest free ``<base>-<n>``."""
    for number in range(MAX_NUMBERED):
        client_id = numbered(base, number)
        held = await try_hold(engine, _lock_name(client_id))
        if held is not None:
            return ClaimedClientId(client_id, number, held)
    raise ClientIdTaken(f"MQTT client ids {numbered(base, 0)} to {numbered(base, MAX_NUMBERED - 1)} are all held by "
                        "other processes on this database")


async def claim_exact(engine: AsyncEngine, client_id: str, *, wait_s: float = 10.0) -> ClaimedClientId:
    """``client_id`` itself, waiting up to ``wait_s`` for another holder to let it go."""
    deadline = time.monotonic() + wait_s
    while True:
        held = await try_hold(engine, _lock_name(client_id))
        if held is not None:
            return ClaimedClientId(client_id, None, held)
        if time.monotonic() >= deadline:
            raise ClientIdTaken(f"MQTT client id {client_id!r} is in use by another process on this database: "
                                "give this one another --client-id, or leave it out to get a free one")
        await asyncio.sleep(0.2)
