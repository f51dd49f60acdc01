"""What ``cylinder-trace serve`` runs beside the HTTP server, and ``cylinder-trace ingest`` alone.

* the embedded MQTT broker (amqtt) when ``CT_EMBEDDED_BROKER`` is on and ``CT_MQTT_URL`` names this
  machine: the one-command default; the service then speaks MQTT 3.1.1 (all amqtt knows);
* the ingestor (:mod:`cylinder_trace.ingest.ingestor`);
* the valve command relay (``authorize_fill`` after a passing fill check, ``lock`` after a seizure or
  a scrapping), published only after the deciding transaction has committed; with it, the fill check's
  authorization hook (``Services.fill_authorizer``);
* the schedule: the fill window check every minute, and the sweeps (``app.sweeps.run_sweeps``) every
  ``CT_SWEEP_INTERVAL_S`` seconds (0 turns both off); a checkpoint (``app.checkpoints``) when the newest
  is ``CT_CHECKPOINT_INTERVAL_S`` old (0 turns it off), looked at every ``CHECKPOINT_POLL_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from .app.checkpoints import take_checkpoint_if_due
from .app.client_ids import ClaimedClientId, claim_exact, claim_numbered, numbered
from .app.fill_authorizations import issue_fill_authorization
from .app.fill_windows import WindowReport, check_fill_windows
from .app.services import Services
from .app.sweeps import run_sweeps
from .app.unit_of_work import Tx
from .ingest.client import Protocol
from .ingest.ingestor import IngestOptions, Ingestor
from .ingest.relay import CommandRelay
from .mqtt.url import parse_mqtt_url
from .settings import Settings

log = logging.getLogger("cylinder_trace.runtime")

#: seconds between fill window checks (their windows are half an hour)
FILL_WINDOW_INTERVAL_S = 60.0
#: seconds between looks at whether a checkpoint is due
CHECKPOINT_POLL_S = 600.0
#: allocations between collections of the youngest generation (Python's default is 700)
GC_YOUNG_THRESHOLD = 20_000


def tune_gc_for_streaming() -> None:
    """Fewer garbage collections for a long-running process that streams messages.

    Each message makes a dozen short-lived containers, freed by reference counting; at the default
    threshold the collector scans the young generation every few dozen messages for cycles there are
    none of. Objects made at start-up (modules, settings, the engine) are frozen out of the collector's
    scans altogether. The older generations keep their default thresholds. Measured: about 10 % more
    messages per second through the ingestor (``bench/RESULTS-ingest.md``).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def default_client_id(settings: Settings, role: str | None = None) -> str:
    """``<CT_MQTT_CLIENT_ID>[-<role>]-<host>``: the base of the numbered ids the processes of one host
    claim (:func:`claim_client_id`)."""
    host = socket.gethostname().split(".")[0] or "host"
    parts = [settings.mqtt_client_id, *([role] if role else []), host]
    return "-".join(parts)[:64]


async def claim_client_id(services: Services, explicit: str | None = None, role: str | None = None) -> ClaimedClientId:
    """The MQTT client id this process connects with, held until it exits: ``explicit`` as it is
    (refused while another process holds it), else the lowest free ``<default_client_id>-<n>``, which a
    restarted process gets back (:mod:`cylinder_trace.app.client_ids`)."""
    if explicit:
        return await claim_exact(services.engine, explicit)
    return await claim_numbered(services.engine, default_client_id(services.settings, role))


def is_local(url: str) -> bool:
    host = parse_mqtt_url(url).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def uses_embedded_broker(settings: Settings) -> bool:
    return settings.embedded_broker and is_local(settings.mqtt_url)


def mqtt_protocol(settings: Settings) -> Protocol:
    return "3.1.1" if uses_embedded_broker(settings) else settings.mqtt_protocol


def ingest_options(settings: Settings, client_id: str | None = None, protocol: Protocol | None = None) -> IngestOptions:
    return IngestOptions(
        url=settings.mqtt_url,
        client_id=client_id or default_client_id(settings),
        protocol=protocol or mqtt_protocol(settings),
        shared_group=settings.mqtt_shared_group,
    )


class Runtime:
    """Starts and stops the background work of ``serve`` (see the module's docstring)."""

    def __init__(self, services: Services, *, ingest: bool = True, relay: bool = True, schedule: bool = True) -> None:
        self.services = services
        self.settings = services.settings
        self._want_ingest = ingest
        self._want_relay = relay
        self._want_schedule = schedule
        self.ingestor: Ingestor | None = None
        self.relay: CommandRelay | None = None
        self._broker: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        #: the MQTT client id of this process's ingestor (the relay's carries the same number)
        self.client_id: ClaimedClientId | None = None

    async def start(self) -> None:
        settings = self.settings
        if self._want_relay and self.services.fill_authorizer is None:
            # a passing fill check of a smart-valve cylinder stores an authorization; the relay sends it
            self.services.fill_authorizer = issue_fill_authorization
        if uses_embedded_broker(settings):
            from .mqtt.embedded_broker import start_embedded_broker

            try:
                self._broker = await start_embedded_broker(settings.mqtt_url)
                log.info("embedded MQTT broker listening on %s", settings.mqtt_url)
            except OSError as exc:
                log.warning("embedded broker not started (%s); using the broker at %s", exc, settings.mqtt_url)
        if self._want_ingest or self._want_relay:
            self.client_id = await claim_client_id(self.services, role="serve")
            log.info("MQTT client id %s", self.client_id.client_id)
        if self._want_ingest:
            assert self.client_id is not None
            self.ingestor = Ingestor(self.services.uow, ingest_options(settings, self.client_id.client_id))
            self._spawn("ingestor", self.ingestor.run)
            self.services.readiness_probes["broker"] = self.ingestor.connected.is_set
        if self._want_relay:
            assert self.client_id is not None and self.client_id.number is not None
            relay_id = numbered(default_client_id(settings, "commands"), self.client_id.number)
            self.relay = CommandRelay(self.services.uow, settings.mqtt_url, client_id=relay_id,
                                      protocol=mqtt_protocol(settings))
            self._spawn("command relay", self.relay.run)
            self.services.readiness_probes.setdefault("broker", self.relay.connected.is_set)
        if self._want_schedule and settings.sweep_interval_s > 0:
            self._spawn("fill window check", lambda: self._every(min(FILL_WINDOW_INTERVAL_S,
                                                                     settings.sweep_interval_s),
                                                                 self._fill_windows))
            self._spawn("sweeps", lambda: self._every(settings.sweep_interval_s, self._sweeps))
        if self._want_schedule and settings.checkpoint_interval_s > 0:
            uow = self.services.uow
            self._spawn("checkpoints", lambda: self._every(min(CHECKPOINT_POLL_S, settings.checkpoint_interval_s),
                                                           lambda: take_checkpoint_if_due(uow, settings, uow.clock())))

    async def _sweeps(self) -> None:
        await run_sweeps(self.services.uow, self.services.uow.clock())

    def _spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped with an error", name)
                raise

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def _every(self, interval_s: float, job: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await job()
            except Exception:
                log.exception("a scheduled job failed; it runs again in %.0f s", interval_s)

    async def _fill_windows(self) -> WindowReport:
        async def handler(tx: Tx) -> WindowReport:
            return await check_fill_windows(tx)

        report = await self.services.uow.write(handler)
        if report.violations:
            log.info("fill window check: %d unconfirmed, %d unrecorded", len(report.unconfirmed),
                     len(report.unrecorded))
        return report

    async def stop(self) -> None:
        self.services.readiness_probes.pop("broker", None)
        if self.ingestor is not None:
            self.ingestor.stop()
        if self.relay is not None:
            self.relay.stop()
        for task in self._tasks:
            if task.get_name() not in ("ingestor", "command relay"):
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=15)
        self._tasks.clear()
        if self.client_id is not None:
            await self.client_id.release()
            self.client_id = None
        if self._broker is not None:
            from .mqtt.embedded_broker import stop_embedded_broker

            await stop_embedded_broker(self._broker)
            self._broker = None
