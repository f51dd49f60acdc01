"""Commands to valves, published after the transaction that decided them has committed.

The relay publishes

* an ``authorize_fill`` for every authorization a passing fill check stored (``valve_authorizations``
  is its outbox: rows not yet published and not yet expired), signed with the valve's secret;
* a ``lock`` for the valve fitted at the time of every ``CylinderSeized`` and ``CylinderScrapped``
  event, and for the valve now fitted to every cylinder a sweep finds overdue for inspection or past
  its service life (``SweepCompleted``), following the event store by position (its checkpoint kept in
  ``projection_checkpoints``).

Each command is published at QoS 1 and marked done (``published_at``, the checkpoint) only after the
broker acknowledged it: a crash publishes it again, which the valve shrugs off (it ignores an
``auth_id`` it has used, and a second ``lock`` changes nothing). MQTT never runs inside a business
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import paho.mqtt.client as mqtt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..app.registries import get_secret
from ..app.unit_of_work import Clock, Tx, UnitOfWork, utc_now
from ..domain import events as ev
from ..domain.cylinder import fold
from ..domain.rules import catalogue
from ..mqtt.protocol import authorize_fill_command, commands_topic, encode, lock_command
from ..mqtt.url import parse_mqtt_url
from ..store import event_store
from ..store.event_store import RecordedEvent
from ..store.projections import checkpoint, save_checkpoint
from ..store.tables import cylinders, events, valve_authorizations
from . import metrics
from .client import Protocol, SessionOptions, configure_transport, connect_kwargs, new_client

log = logging.getLogger("cylinder_trace.ingest.commands")

CHECKPOINT: Final = "valve_commands"
_LOCKING_TYPES: Final = (ev.CYLINDER_SEIZED, ev.CYLINDER_SCRAPPED, ev.SWEEP_COMPLETED)
#: sweep findings whose cylinder must stay locked (PROTOCOL.md: ``lock`` for an overdue cylinder), and
#: the reason the valve is told
_LOCKING_RULES: Final = {
    catalogue.OVERDUE_AT_CUSTOMER.code: "cylinder overdue for inspection",
    catalogue.LIFE_EXPIRED_AT_CUSTOMER.code: "cylinder past its service life",
}


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


async def authorize_command(conn: AsyncConnection, row: Mapping[Any, Any]) -> Command | None:
    """The signed ``authorize_fill`` of a stored authorization (None: the valve is gone)."""
    secret = await _secret(conn, row["valve_id"])
    if secret is None:
        return None
    return Command(row["valve_id"], authorize_fill_command(
        secret, row["valve_id"], auth_id=row["auth_id"], station_id=row["station_id"],
        max_mass_kg=row["max_mass_kg"], expires=row["expires"]))


async def lock_commands_for(conn: AsyncConnection, event: RecordedEvent) -> list[Command]:
    """The signed ``lock`` commands a seizure, a scrapping or a sweep's findings call for."""
    if event.type == ev.SWEEP_COMPLETED:
        return await _sweep_locks(conn, event)
    command = await _seizure_or_scrapping_lock(conn, event)
    return [command] if command is not None else []


async def _seizure_or_scrapping_lock(conn: AsyncConnection, event: RecordedEvent) -> Command | None:
    """To the valve fitted just before the event."""
    history = await event_store.read_stream(conn, event.stream_id)
    before = fold((e.type, e.data, e.version) for e in history if e.version < event.version)
    if before is None or before.smart_valve_id is None:
        return None
    what = "seized" if event.type == ev.CYLINDER_SEIZED else "scrapped"
    detail = str(event.data.get("reason") or "").strip()
    return await _lock(conn, before.smart_valve_id, f"cylinder {what}: {detail}" if detail else f"cylinder {what}")


async def _sweep_locks(conn: AsyncConnection, event: RecordedEvent) -> list[Command]:
    """To the valve now fitted to each cylinder the sweep found overdue or past its life."""
    commands: list[Command] = []
    for violation in event.data.get("violations", []):
        reason = _LOCKING_RULES.get(violation.get("rule"))
        kind, _, code = str(violation.get("subject", "")).partition(":")
        if reason is None or kind != "cylinder":
            continue
        valve_id = (await conn.execute(
            sa.select(cylinders.c.smart_valve_id).where(cylinders.c.code == code))).scalar_one_or_none()
        due = violation.get("detail", {}).get("due_on") or violation.get("detail", {}).get("life_expires_on")
        command = await _lock(conn, valve_id, f"{reason} ({due})" if due else reason) if valve_id else None
        if command is not None:
            commands.append(command)
    return commands


async def _lock(conn: AsyncConnection, valve_id: str, reason: str) -> Command | None:
    secret = await _secret(conn, valve_id)
    if secret is None:
        return None
    return Command(valve_id, lock_command(secret, valve_id, reason=reason[:200]))


class CommandRelay:
    """Publishes the commands the committed events call for (see the module's docstring)."""

    def __init__(
        self, uow: UnitOfWork, url: str, *, client_id: str, protocol: Protocol, poll_s: float = 0.25,
        clock: Clock = utc_now, publish_timeout_s: float = 10.0,
    ) -> None:
        self.uow = uow
        self.address = parse_mqtt_url(url)
        self.options = SessionOptions(client_id, protocol, persistent=False)
        self.poll_s = poll_s
        self.clock = clock
        self.publish_timeout_s = publish_timeout_s
        self.connected = threading.Event()
        self._client: mqtt.Client | None = None
        self._stop = asyncio.Event()
        self._relaying = asyncio.Lock()

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            self.connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        self.connected.clear()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """The relay's MQTT connection (reconnecting by itself) for as long as the block runs."""
        client = self._client = new_client(self.options)
        configure_transport(client, self.address)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.connect_async(self.address.host, self.address.port, **connect_kwargs(self.options))
        client.loop_start()
        try:
            yield
        finally:
            self._client = None
            self.connected.clear()
            await asyncio.to_thread(self._close, client)

    async def run(self) -> None:
        async with self.session():
            while not self._stop.is_set():
                try:
                    sent = await self.relay_once()
                except Exception:
                    log.exception("relaying valve commands failed; retrying")
                    sent = 0
                if not sent:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.poll_s)

    @staticmethod
    def _close(client: mqtt.Client) -> None:
        client.disconnect()
        client.loop_stop()

    def stop(self) -> None:
        self._stop.set()

    async def relay_once(self, limit: int = 100) -> int:
        """Publish what is pending; returns how many commands (or skipped events) were handled."""
        async with self._relaying:  # one pass at a time, or two would publish the same pending command
            if not self.connected.is_set():
                return 0
            return await self._authorizations(limit) + await self._locks(limit)

    async def _authorizations(self, limit: int) -> int:
        now = self.clock()

        async def pending(conn: AsyncConnection) -> list[tuple[str, Command | None]]:
            rows = (await conn.execute(
                sa.select(valve_authorizations)
                .where(valve_authorizations.c.published_at.is_(None), valve_authorizations.c.expires > now)
                .order_by(valve_authorizations.c.issued_at).limit(limit))).all()
            return [(row.auth_id, await authorize_command(conn, row._mapping)) for row in rows]

        handled: list[str] = []
        for auth_id, command in await self.uow.read(pending):
            if command is not None and not await self._publish(command):
                break
            handled.append(auth_id)
        if handled:
            async def mark(tx: Tx) -> None:
                await tx.conn.execute(sa.update(valve_authorizations).where(
                    valve_authorizations.c.auth_id.in_(handled)).values(published_at=tx.now))

            await self.uow.write(mark)
        return len(handled)

    async def _locks(self, limit: int) -> int:
        async def pending(conn: AsyncConnection) -> list[tuple[int, list[Command]]]:
            after = await checkpoint(conn, CHECKPOINT)
            ids = (await conn.execute(
                sa.select(events.c.event_id).where(events.c.position > after, events.c.type.in_(_LOCKING_TYPES))
                .order_by(events.c.position).limit(limit))).scalars().all()
            found: list[tuple[int, list[Command]]] = []
            for event_id in ids:
                event = await event_store.find_event(conn, event_id)
                assert event is not None
                found.append((event.position, await lock_commands_for(conn, event)))
            return found

        handled = 0
        last_position: int | None = None
        for position, commands in await self.uow.read(pending):
            if not await self._publish_all(commands):
                break  # this event's commands go out again next time (a valve shrugs off a second lock)
            last_position = position
            handled += 1
        if last_position is not None:
            done = last_position

            async def save(tx: Tx) -> None:
                await save_checkpoint(tx.conn, CHECKPOINT, done)

            await self.uow.write(save)
        return handled

    async def _publish_all(self, commands: list[Command]) -> bool:
        for command in commands:
            if not await self._publish(command):
                return False
        return True

    async def _publish(self, command: Command) -> bool:
        client = self._client
        if client is None:
            return False
        info = client.publish(command.topic, encode(command.payload), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        try:
            await asyncio.to_thread(info.wait_for_publish, self.publish_timeout_s)
        except (RuntimeError, ValueError):
            return False
        if not info.is_published():
            return False
        metrics.COMMANDS.labels(command.cmd).inc()
        log.info("published %s to %s", command.cmd, command.valve_id)
        return True
