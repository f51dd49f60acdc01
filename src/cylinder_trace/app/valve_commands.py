"""The database side of the commands to valves: what is pending, signed, and marking it done.

The command relay (``ingest/relay.py``, the MQTT side) publishes

* an ``authorize_fill`` for every authorization a passing fill check stored (``valve_authorizations``
  is its outbox: rows not yet published and not yet expired), signed with the valve's secret;
* a ``lock`` for the valves the committed events call for (:mod:`cylinder_trace.domain.rules.valve_locks`),
  following the event store by position (its checkpoint kept in ``projection_checkpoints``).

Each command is marked done (:func:`mark_published`, :func:`save_lock_checkpoint`) only after the broker
acknowledged it: a crash publishes it again, which the valve shrugs off (it ignores an ``auth_id`` it
has used, and a second ``lock`` changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events as ev
from ..domain.cylinder import fold
from ..domain.rules.valve_locks import LOCKING_EVENT_TYPES, event_lock_reason, finding_lock
from ..mqtt.protocol import authorize_fill_command, commands_topic, lock_command
from ..store import event_store
from ..store.event_store import RecordedEvent
from ..store.projections import checkpoint, save_checkpoint
from ..store.valve_fills import PendingAuthorization, mark_published, unpublished_authorizations
from ..store.valves import event_ids_after, valve_of_cylinder
from .registries import get_secret
from .tx import Tx
from .unit_of_work import UnitOfWork

CHECKPOINT: Final = "valve_commands"
_LOCKING_TYPES: Final = (*sorted(LOCKING_EVENT_TYPES), ev.SWEEP_COMPLETED)


@dataclass(frozen=True, slots=True)
class Command:
    valve_id: str
    payload: dict[str, Any]

    @property
    def topic(self) -> str:
        return commands_topic(self.valve_id)

    @property
    def cmd(self) -> str:
        return str(self.payload["cmd"])


async def _secret(conn: AsyncConnection, valve_id: str) -> bytes | None:
    value = await get_secret(conn, "valve", valve_id, "secret")
    try:
        return bytes.fromhex(value) if value is not None else None
    except ValueError:
        return None


async def authorize_command(conn: AsyncConnection, auth: PendingAuthorization) -> Command | None:
    """The signed ``authorize_fill`` of a stored authorization (None: the valve is gone)."""
    secret = await _secret(conn, auth.valve_id)
    if secret is None:
        return None
    return Command(auth.valve_id, authorize_fill_command(
        secret, auth.valve_id, auth_id=auth.auth_id, station_id=auth.station_id, max_mass_kg=auth.max_mass_kg,
        expires=auth.expires))


async def lock_commands_for(conn: AsyncConnection, event: RecordedEvent) -> list[Command]:
    """The signed ``lock`` commands a seizure, a scrapping or a sweep's findings call for."""
    if event.type == ev.SWEEP_COMPLETED:
        return await _sweep_locks(conn, event)
    reason = event_lock_reason(event.type, event.data)
    if reason is None:
        return []
    history = await event_store.read_stream(conn, event.stream_id)  # to the valve fitted just before it
    before = fold((e.type, e.data, e.version) for e in history if e.version < event.version)
    if before is None or before.smart_valve_id is None:
        return []
    command = await _lock(conn, before.smart_valve_id, reason)
    return [command] if command is not None else []


async def _sweep_locks(conn: AsyncConnection, event: RecordedEvent) -> list[Command]:
    """To the valve now fitted to each cylinder the sweep found overdue or past its life."""
    commands: list[Command] = []
    for violation in event.data.get("violations", []):
        lock = finding_lock(violation)
        valve_id = await valve_of_cylinder(conn, lock.code) if lock is not None else None
        command = await _lock(conn, valve_id, lock.reason) if lock is not None and valve_id else None
        if command is not None:
            commands.append(command)
    return commands


async def _lock(conn: AsyncConnection, valve_id: str, reason: str) -> Command | None:
    secret = await _secret(conn, valve_id)
    if secret is None:
        return None
    return Command(valve_id, lock_command(secret, valve_id, reason=reason))


async def pending_authorizations(uow: UnitOfWork, now: datetime, limit: int) -> list[tuple[str, Command | None]]:
    """``(auth_id, its command)`` of the authorizations to publish, oldest first (None: nothing to send,
    the valve is gone)."""
    async def reader(conn: AsyncConnection) -> list[tuple[str, Command | None]]:
        return [(a.auth_id, await authorize_command(conn, a))
                for a in await unpublished_authorizations(conn, now, limit)]

    return await uow.read(reader)


async def authorizations_published(uow: UnitOfWork, auth_ids: Sequence[str]) -> None:
    async def mark(tx: Tx) -> None:
        await mark_published(tx.conn, auth_ids, tx.now)

    await uow.write(mark)


async def pending_locks(uow: UnitOfWork, limit: int) -> list[tuple[int, list[Command]]]:
    """``(position, its commands)`` of the locking events after the relay's checkpoint, in order."""
    async def reader(conn: AsyncConnection) -> list[tuple[int, list[Command]]]:
        after = await checkpoint(conn, CHECKPOINT)
        found: list[tuple[int, list[Command]]] = []
        for event_id in await event_ids_after(conn, after, _LOCKING_TYPES, limit):
            event = await event_store.find_event(conn, event_id)
            assert event is not None
            found.append((event.position, await lock_commands_for(conn, event)))
        return found

    return await uow.read(reader)


async def locks_published(uow: UnitOfWork, through: int) -> None:
    """Every lock up to the position ``through`` went out."""
    async def save(tx: Tx) -> None:
        await save_checkpoint(tx.conn, CHECKPOINT, through)

    await uow.write(save)
