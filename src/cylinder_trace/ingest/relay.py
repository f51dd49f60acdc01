"""The command relay's MQTT side: commands to valves, published after the transaction that decided them
has committed.

What is pending, how it is signed, and marking it done is the database side
(:mod:`cylinder_trace.app.valve_commands`); this module holds the broker connection and publishes. Each
command is published at QoS 1 and marked done only after the broker acknowledged it: a crash
publishes it again, which the valve shrugs off. MQTT never runs inside a business transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import paho.mqtt.client as mqtt

from ..app.unit_of_work import Clock, UnitOfWork, utc_now
from ..app.valve_commands import (
    Command,
    authorizations_published,
    locks_published,
    pending_authorizations,
    pending_locks,
)
from ..mqtt.protocol import encode
from ..mqtt.url import parse_mqtt_url
from . import metrics
from .client import Protocol, SessionOptions, configure_transport, connect_kwargs, new_client

log = logging.getLogger("cylinder_trace.ingest.relay")


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
        handled: list[str] = []
        for auth_id, command in await pending_authorizations(self.uow, self.clock(), limit):
            if command is not None and not await self._publish(command):
                break
            handled.append(auth_id)
        if handled:
            await authorizations_published(self.uow, handled)
        return len(handled)

    async def _locks(self, limit: int) -> int:
        handled = 0
        last_position: int | None = None
        for position, commands in await pending_locks(self.uow, limit):
            if not await self._publish_all(commands):
                break  # this event's commands go out again next time (a valve shrugs off a second lock)
            last_position = position
            handled += 1
        if last_position is not None:
            await locks_published(self.uow, last_position)
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
