"""The ingestor: subscribe, batch, commit, and only then acknowledge.

Threads: paho's network thread receives and hands each message to the asyncio loop through an
:class:`~cylinder_trace.ingest.inbox.Inbox` and never waits for anything there, so it keeps answering
the broker's keep-alive however long a commit takes. What bounds the messages in hand is the broker's
flow control: a message is acknowledged only after its batch is committed, and the broker sends no
more unacknowledged QoS 1 messages than the client's Receive Maximum (MQTT 5, ``receive_maximum``) or
Mosquitto's ``max_inflight_messages`` (MQTT 3.1.1, ``deploy/mosquitto.conf``). QoS 0 messages (no valve
sends them; the protocol is QoS 1) are not counted by the broker: past ``inbox_capacity`` they are
dropped, as QoS 0 allows.

The loop takes whatever has arrived as one batch, verifies it, writes it in one transaction
(:mod:`cylinder_trace.app.valve_batches`), and after the commit acknowledges every message of the batch
in arrival order. A message is never acknowledged before it is durably stored or dead-lettered, so
killing the process at any moment loses nothing: the broker sends the unacknowledged messages again and
the ``(valve_id, seq)`` key drops the repeats. Batches are written in the order they arrived, one after
another (a batch that has to be retried holds back the ones behind it), so what a valve sent in ``seq``
order reaches its cylinder's history in that order.

Sessions are persistent (3.1.1: ``clean_session`` false; 5: ``clean_start`` false and a session expiry)
so messages published while the ingestor is down wait at the broker. With MQTT 5 several ingestors share
``$share/<group>/ct/v1/valves/+/events``; with 3.1.1 each one gets every message and the key dedupes.

Failures: a database that cannot be reached is retried with backoff, forever, without acknowledging; a
batch the database refuses for its content is split until the offending message is found, and that one
is dead-lettered, so bad input never stops the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from ..app.errors import is_transient
from ..app.unit_of_work import UnitOfWork
from ..app.valve_arrivals import DeadLetter
from ..app.valve_batches import BatchOutcome, Verified, store_batch, store_dead_letters, verify
from ..app.valve_keys import ValveKeys
from ..mqtt.protocol import EVENTS_SUBSCRIPTION, STATUS_SUBSCRIPTION, shared_events_subscription
from ..mqtt.url import MqttUrl, parse_mqtt_url
from . import metrics
from .client import BufferedClient, Protocol, SessionOptions, configure_transport, connect_kwargs, new_client
from .decode import Received, decode
from .inbox import Inbox, InboxClosed

log = logging.getLogger("cylinder_trace.ingest")

@dataclass(eq=False)
class _Turn:
    """A batch's place in line: the batch after it is written once this one is, and acknowledged once
    this one is done."""

    written: asyncio.Event = field(default_factory=asyncio.Event)
    #: written (stored or dead-lettered) without a failure
    ok: bool = False
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class IngestOptions:
    url: str
    client_id: str
    protocol: Protocol = "5"
    #: MQTT 5 shared-subscription group ("" for a plain subscription)
    shared_group: str = "ct-ingest"
    #: batches in hand at once: one being written, the next ones verified and waiting their turn (written
    #: and acknowledged in arrival order)
    commit_concurrency: int = 2
    #: most messages per transaction (2,000 drained a backlog about 24 % faster than 500: per-commit
    #: costs, the disk flush among them, are shared by more messages; ``bench/RESULTS-ingest.md``)
    max_batch: int = 2000
    #: messages received and not yet committed past which QoS 0 messages are dropped (QoS 1 messages are
    #: bounded by the broker's flow control: ``receive_maximum``, or Mosquitto's max_inflight_messages)
    inbox_capacity: int = 12000
    #: MQTT 5: unacknowledged messages the broker may send (several batches; see deploy/mosquitto.conf
    #: for 3.1.1)
    receive_maximum: int = 10000
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    #: connections lost (not counting the ones this process closed)
    disconnects: int = 0
    #: QoS 0 messages dropped because the inbox was past its capacity
    dropped: int = 0


class Ingestor:
    def __init__(self, uow: UnitOfWork, options: IngestOptions, keys: ValveKeys | None = None) -> None:
        self.uow = uow
        self.options = options
        self.keys = keys or ValveKeys(uow.engine)
        self.address: MqttUrl = parse_mqtt_url(options.url)
        self.stats = IngestStats()
        self.connected = threading.Event()
        self._generation = 0
        self._generation_lock = threading.Lock()
        self._stopping = threading.Event()
        self._stop_requested: asyncio.Event | None = None
        self._inbox: Inbox[Received] | None = None
        self._client: BufferedClient | None = None
        self._warned_full = False

    # --- paho's thread ----------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        with self._generation_lock:
            self._generation += 1
        self.connected.set()
        metrics.CONNECTED.set(1)
        log.info("connected to %s as %s (session present: %s)", self.address, self.options.client_id,
                 getattr(flags, "session_present", None))
        client.subscribe(self._subscriptions())

    def _subscriptions(self) -> list[tuple[str, Any]]:
        if self.options.protocol == "5":
            events = (shared_events_subscription(self.options.shared_group) if self.options.shared_group
                      else EVENTS_SUBSCRIPTION)
            # retained status messages only when the subscription is new (not on every reconnect)
            return [(events, SubscribeOptions(qos=1)),
                    (STATUS_SUBSCRIPTION, SubscribeOptions(qos=1, retainHandling=1))]
        return [(EVENTS_SUBSCRIPTION, 1), (STATUS_SUBSCRIPTION, 1)]

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any) -> None:
        failed = [r for r in reasons if getattr(r, "is_failure", False)]
        if failed:
            log.error("subscription refused: %s", failed)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        with self._generation_lock:
            self._generation += 1  # nothing received on the lost connection is acknowledged any more
        self.connected.clear()
        metrics.CONNECTED.set(0)
        if not self._stopping.is_set():
            self.stats.disconnects += 1
            metrics.DISCONNECTS.inc()
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = message._topic.decode("utf-8", "replace")
        item = Received(
            topic=topic, payload=bytes(message.payload), mid=message.mid, qos=message.qos,
            retain=bool(message.retain), received_at=datetime.now(UTC), received_mono=time.monotonic(),
            generation=self._generation,
        )
        inbox = self._inbox
        if inbox is None:
            return
        if inbox.in_hand >= inbox.capacity:
            if item.qos == 0:  # not counted by the broker's flow control; at most once allows dropping it
                self.stats.dropped += 1
                metrics.DROPPED.inc()
                return
            if not self._warned_full:
                self._warned_full = True
                log.warning("%d messages in hand, more than the inbox's capacity of %d: the broker's flow "
                            "control (Receive Maximum / max_inflight_messages) is set higher", inbox.in_hand,
                            inbox.capacity)
        try:
            inbox.put(item)  # never waits: paho's thread must stay free to answer keep-alives
        except InboxClosed:
            return  # shutting down: not acknowledged, so the broker sends it again

    # --- the loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, ingest until :meth:`stop`, then disconnect (the session stays at the broker)."""
        loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        self._inbox = Inbox(loop, self.options.inbox_capacity)
        client = self._client = self._make_client()
        client.connect_async(self.address.host, self.address.port, **connect_kwargs(self._session()))
        client.loop_start()
        try:
            await self._consume()
        finally:
            self._stopping.set()
            self._inbox.close()
            await asyncio.to_thread(self._disconnect, client)

    def _session(self) -> SessionOptions:
        o = self.options
        return SessionOptions(o.client_id, o.protocol, persistent=True, session_expiry_s=o.session_expiry_s,
                              receive_maximum=o.receive_maximum, keepalive_s=o.keepalive_s)

    def _make_client(self) -> BufferedClient:
        client = new_client(self._session(), manual_ack=True)
        configure_transport(client, self.address)
        client.reconnect_delay_set(min_delay=self.options.reconnect_min_s,  # type: ignore[arg-type]
                                   max_delay=self.options.reconnect_max_s)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    @staticmethod
    def _disconnect(client: BufferedClient) -> None:
        client.disconnect()
        client.loop_stop()

    def stop(self) -> None:
        """Finish the batch in hand, acknowledge it, and return from :meth:`run`."""
        self._stopping.set()
        if self._stop_requested is not None:
            self._stop_requested.set()

    async def _consume(self) -> None:
        """Two stages, so the CPU work of a batch overlaps the database work of another: the verifier
        takes batches from the inbox and checks them; each verified batch is handled in a task of its
        own, up to ``commit_concurrency`` at once. A batch is written after the batch before it is
        written (its valves' messages reach the histories in the order they arrived) and acknowledged
        after its commit and after the batch before it (acknowledgements keep the order of arrival, as
        MQTT requires)."""
        assert self._inbox is not None and self._stop_requested is not None
        verified: asyncio.Queue[tuple[list[Received], Verified | None]] = asyncio.Queue(maxsize=1)
        verifier = asyncio.create_task(self._verify_stage(verified), name="ingest verifier")
        slots = asyncio.Semaphore(self.options.commit_concurrency)
        committing: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []

        def finished(task: asyncio.Task[None]) -> None:
            committing.discard(task)
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                failures.append(failure)

        previous: _Turn | None = None
        try:
            while not (verifier.done() and verified.empty()):
                getter = asyncio.ensure_future(verified.get())
                await asyncio.wait({getter, verifier}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    continue  # the verifier stopped: commit what it left, then leave
                batch, checked = getter.result()
                await slots.acquire()
                if failures:
                    slots.release()
                    raise failures[0]  # a failure of a commit task itself is a bug: let it surface
                turn = _Turn()
                turn.task = asyncio.create_task(self._handle(batch, checked, turn, previous, slots),
                                                name="ingest commit")
                committing.add(turn.task)
                turn.task.add_done_callback(finished)
                previous = turn
            verifier.result()  # likewise for the verifier
            await asyncio.gather(*committing)
            if failures:
                raise failures[0]
        finally:
            verifier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await verifier
            for task in list(committing):  # only when leaving on a failure: not acknowledged, sent again
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _verify_stage(self, out: asyncio.Queue[tuple[list[Received], Verified | None]]) -> None:
        assert self._inbox is not None and self._stop_requested is not None
        inbox, stop = self._inbox, self._stop_requested
        while not stop.is_set():
            getter = asyncio.ensure_future(inbox.get_batch(self.options.max_batch))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not getter.done():
                getter.cancel()
                break
            batch = getter.result()
            metrics.QUEUE_DEPTH.set(len(inbox) + len(batch))
            try:
                checked: Verified | None = await verify([decode(item) for item in batch], self.keys)
            except Exception:  # e.g. the database is away: the committer verifies again as it retries
                checked = None
            await out.put((batch, checked))

    async def _handle(self, batch: list[Received], checked: Verified | None, turn: _Turn, previous: _Turn | None,
                      slots: asyncio.Semaphore) -> None:
        """Write ``batch`` once the batch before it (``previous``) is written; acknowledge it once it and
        the batch before it are done."""
        assert self._inbox is not None
        try:
            self.stats.received += len(batch)
            if previous is not None:
                await previous.written.wait()
                if not previous.ok:
                    return  # nothing after a failed batch is written or acknowledged: it all comes again
            outcome = await self._commit(batch, checked)
            turn.ok = True
            turn.written.set()
            committed_mono = time.monotonic()
            if previous is not None and previous.task is not None:
                await asyncio.wait({previous.task})
                if previous.task.cancelled() or previous.task.exception() is not None:
                    return  # acknowledging past an unacknowledged batch would break the order; it all comes again
            self._acknowledge(batch)
            if outcome is not None:
                self._count(outcome, batch, committed_mono)
        finally:
            turn.written.set()
            self._inbox.release(len(batch))
            slots.release()

    async def _commit(self, batch: list[Received], checked: Verified | None = None) -> BatchOutcome | None:
        """Store the batch; back off and retry while the database is away. None: it was split."""
        delay = 0.1
        while True:
            try:
                if checked is None:
                    checked = await verify([decode(item) for item in batch], self.keys)
                return await self._write(checked)
            except Exception as exc:
                if not is_transient(exc):
                    metrics.COMMIT_FAILURES.labels("data").inc()
                    log.warning("a batch of %d was refused by the database (%s); isolating the cause",
                                len(batch), type(exc).__name__)
                    await self._split(batch, exc)
                    return None
                metrics.COMMIT_FAILURES.labels("transient").inc()
                log.warning("storing a batch failed (%s: %s); retrying in %.1f s", type(exc).__name__,
                            str(exc).splitlines()[0][:200] if str(exc) else "", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _write(self, checked: Verified) -> BatchOutcome:
        return await store_batch(self.uow, checked)

    async def _split(self, batch: list[Received], exc: BaseException) -> None:
        if len(batch) == 1:
            letter = DeadLetter(batch[0], "storage_error",
                                f"the database refused it: {type(exc).__name__}: {str(exc)[:300]}")
            await self._commit_letters([letter])
            return
        half = len(batch) // 2
        for part in (batch[:half], batch[half:]):
            outcome = await self._commit(part)
            if outcome is not None:
                self._count(outcome, part, time.monotonic())

    async def _commit_letters(self, letters: Sequence[DeadLetter]) -> None:
        delay = 0.1
        while True:
            try:
                await store_dead_letters(self.uow, letters)
                self._count_letters(letters)
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _acknowledge(self, batch: Sequence[Received]) -> None:
        client = self._client
        assert client is not None
        with self._generation_lock:
            current = self._generation
            qos1: list[int] = []
            for item in batch:
                if item.qos == 0:
                    continue
                if item.generation != current:
                    continue  # came on a lost connection: it will be sent again
                if item.qos == 1:
                    qos1.append(item.mid)
                else:
                    client.ack_many(qos1)  # keep the order of arrival
                    qos1 = []
                    client.ack(item.mid, item.qos)
            client.ack_many(qos1)

    def _count(self, outcome: BatchOutcome, batch: Sequence[Received], committed_mono: float) -> None:
        s = self.stats
        s.stored += outcome.stored
        s.duplicates += outcome.duplicates
        metrics.BATCH_SIZE.observe(len(batch))
        metrics.MESSAGES.labels("stored").inc(outcome.stored)
        metrics.MESSAGES.labels("duplicate").inc(outcome.duplicates)
        metrics.MESSAGES.labels("status").inc(outcome.presence)
        self._count_letters(outcome.dead_letters)
        # per batch, not per message: its oldest message, and the oldest valve clock stored
        metrics.LAG.observe(max(0.0, committed_mono - min(item.received_mono for item in batch)))
        if outcome.event_times:
            metrics.EVENT_AGE.observe(max(0.0, (datetime.now(UTC) - min(outcome.event_times)).total_seconds()))

    def _count_letters(self, letters: Sequence[DeadLetter]) -> None:
        self.stats.dead_letters += len(letters)
        metrics.MESSAGES.labels("dead_letter").inc(len(letters))
        for d in letters:
            metrics.DEAD_LETTERS.labels(d.kind).inc()
            if d.kind == "replay":
                metrics.REPLAYS.inc()

    def __repr__(self) -> str:
        return f"Ingestor({self.address}, client_id={self.options.client_id!r}, protocol={self.options.protocol})"
