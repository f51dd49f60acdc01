"""The valve's MQTT side: publishes its outbox, receives its commands (paho-mqtt 2.x).

One :class:`ValveLink` per valve, with the valve id as client id, a persistent session (commands sent
while the valve is away are queued by the broker), QoS 1 everywhere, the retained status ``online``
on connect and the retained Last Will ``offline``.

Single-threaded on purpose: nothing happens on the network unless the caller pumps (:meth:`pump`,
:meth:`wait_until`, :meth:`drain`), so the valve's state is only ever touched by one thread. Every
connection uses a fresh paho client, so the valve's outbox is the only record of what still has to be
sent: on reconnect, everything the broker has not acknowledged is sent again, in ``seq`` order.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from cylinder_trace.mqtt.protocol import (
    STATUS_OFFLINE,
    STATUS_ONLINE,
    commands_topic,
    encode,
    events_topic,
    status_topic,
)
from firmware_sim.valve import CommandOutcome, Message, Valve

#: how long the broker keeps an MQTT 5 valve session (and its queued commands) while it is away
SESSION_EXPIRY_S = 14 * 24 * 3600


class MqttProtocol(StrEnum):
    V311 = "3.1.1"
    V5 = "5"


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int


def parse_url(url: str) -> BrokerAddress:
    """``mqtt://host:port`` (port 1883 when left out)."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"{url!r}: expected mqtt://host:port")
    return BrokerAddress(parts.hostname, parts.port or 1883)


class LinkError(RuntimeError):
    pass


def new_client(client_id: str, protocol: MqttProtocol, *, persistent: bool) -> mqtt.Client:
    """A paho client with the callback API version 2, for ``protocol``."""
    if protocol is MqttProtocol.V5:
        return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    return mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=not persistent
    )


def connect_kwargs(protocol: MqttProtocol, *, persistent: bool, session_expiry_s: int) -> dict[str, Any]:
    """``connect()`` arguments for a persistent (or clean) session under ``protocol``."""
    if protocol is not MqttProtocol.V5:
        return {}
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = session_expiry_s if persistent else 0
    return {"clean_start": not persistent, "properties": props}


class ValveLink:
    def __init__(
        self,
        valve: Valve,
        url: str,
        protocol: MqttProtocol = MqttProtocol.V311,
        *,
        keepalive: int = 30,
        persistent_session: bool = True,
        on_command: Callable[[CommandOutcome], None] | None = None,
    ) -> None:
        self.valve = valve
        self.address = parse_url(url)
        self.protocol = protocol
        self.keepalive = keepalive
        self.persistent_session = persistent_session
        self.on_command = on_command
        #: every command received, with what the valve made of it
        self.commands: list[CommandOutcome] = []
        #: raw publishes (not from the outbox) acknowledged by the broker
        self.raw_acked = 0
        self._client: mqtt.Client | None = None
        self._connected = False
        self._subscribed = False
        self._connect_error: str | None = None
        self._inflight: dict[int, int | None] = {}  # mid → outbox seq, or None for status/raw
        self._raw_mids: set[int] = set()
        self._sent_seqs: set[int] = set()

    @property
    def connected(self) -> bool:
        return self._connected

    # --- connection ---------------------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> None:
        """Connect, subscribe to the commands topic, say ``online``, and send the outbox."""
        if self._client is not None:
            raise LinkError("already connected")
        client = new_client(self.valve.valve_id, self.protocol, persistent=self.persistent_session)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.will_set(status_topic(self.valve.valve_id), STATUS_OFFLINE, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        self._client = client
        self._connect_error = None
        self._inflight.clear()
        self._sent_seqs.clear()
        kwargs = connect_kwargs(self.protocol, persistent=self.persistent_session, session_expiry_s=SESSION_EXPIRY_S)
        try:
            client.connect(self.address.host, self.address.port, keepalive=self.keepalive, **kwargs)
        except OSError as exc:
            self._client = None
            raise LinkError(f"cannot reach {self.address.host}:{self.address.port}: {exc}") from exc
        if not self.wait_until(lambda: self._subscribed or self._connect_error is not None, timeout):
            self.drop()
            raise LinkError(f"no CONNACK/SUBACK from {self.address.host}:{self.address.port} in {timeout}s")
        if self._connect_error is not None:
            error = self._connect_error
            self.drop()
            raise LinkError(f"connection refused: {error}")
        if self._publish(status_topic(self.valve.valve_id), STATUS_ONLINE, retain=True) is not None:
            self.flush()

    def disconnect(self, timeout: float = 10.0) -> None:
        """Go away politely: send what is pending, say ``offline`` (retained), then DISCONNECT."""
        if self._client is None:
            return
        self.drain(timeout)
        mid = self._publish(status_topic(self.valve.valve_id), STATUS_OFFLINE, retain=True)
        if mid is not None:
            self.wait_until(lambda: mid not in self._inflight, timeout)
        if self._client is not None:
            self._client.disconnect()
        self.pump(0.05)
        self._forget_client()

    def drop(self) -> None:
        """Lose the network abruptly (no DISCONNECT): the broker publishes the Last Will ``offline``."""
        client = self._client
        if client is None:
            return
        sock = client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._forget_client()

    def _forget_client(self) -> None:
        self._client = None
        self._connected = False
        self._subscribed = False
        self._inflight.clear()
        self._raw_mids.clear()
        self._sent_seqs.clear()
        self.valve.checkpoint()

    # --- moving messages ----------------------------------------------------------------------------

    def flush(self) -> int:
        """Publish the outbox events not yet sent on this connection, in ``seq`` order; how many."""
        if not self._connected:
            return 0
        count = 0
        for message in self.valve.pending():
            seq = int(message["seq"])
            if seq in self._sent_seqs:
                continue
            if self._publish(events_topic(self.valve.valve_id), encode(message), seq=seq) is None:
                break  # the connection just went; the outbox keeps it for the next one
            self._sent_seqs.add(seq)
            count += 1
        return count

    def publish_raw(self, message: Message | bytes) -> int:
        """Publish on the events topic outside the outbox (duplicates, forged replays); the mid."""
        if not self._connected:
            raise LinkError("not connected")
        payload = message if isinstance(message, bytes) else encode(message)
        mid = self._publish(events_topic(self.valve.valve_id), payload)
        if mid is None:
            raise LinkError("connection lost")
        self._raw_mids.add(mid)
        return mid

    def pump(self, seconds: float = 0.0) -> None:
        """Run the network for ``seconds`` (at least one pass): acks in, commands in, packets out."""
        deadline = time.monotonic() + seconds
        while True:
            if self._client is None:
                time.sleep(max(0.0, deadline - time.monotonic()))
                return
            self._loop_once(min(0.05, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                return

    def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() >= deadline or self._client is None:
                return done()
            self._loop_once(0.05)
        return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Send the outbox and wait until the broker acknowledged all of it (and any raw publish)."""
        self.flush()
        done = self.wait_until(lambda: not self.valve.pending() and not self._inflight, timeout)
        self.valve.checkpoint()
        return done

    def _publish(self, topic: str, payload: bytes, *, retain: bool = False, seq: int | None = None) -> int | None:
        """QoS 1 publish; its mid, or ``None`` when the connection is gone."""
        client = self._client
        if client is None or not self._connected:
            return None
        info = client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTT_ERR_NO_CONN:
            self._forget_client()
            return None
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise LinkError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        self._inflight[info.mid] = seq
        return info.mid

    def _loop_once(self, timeout: float) -> None:
        client = self._client
        if client is None:
            return
        rc = client.loop(timeout=timeout)
        if rc != mqtt.MQTT_ERR_SUCCESS and self._client is client:
            self._forget_client()

    # --- paho callbacks (run inside loop(), on the caller's thread) ---------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._connect_error = str(reason_code)
            return
        self._connected = True
        client.subscribe(commands_topic(self.valve.valve_id), qos=1)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(rc.is_failure for rc in reason_codes):
            self._connect_error = f"subscription refused: {reason_codes}"
        else:
            self._subscribed = True

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        outcome = self.valve.handle_command(bytes(message.payload), message.topic)
        self.commands.append(outcome)
        if self.on_command is not None:
            self.on_command(outcome)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if mid not in self._inflight:
            return
        seq = self._inflight.pop(mid)
        if reason_code.is_failure:  # MQTT 5 broker refused it: keep it for the next connection
            if seq is not None:
                self._sent_seqs.discard(seq)
            return
        if seq is not None:
            self.valve.acknowledge(seq)
        elif mid in self._raw_mids:
            self._raw_mids.discard(mid)
            self.raw_acked += 1

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected = False
        self._subscribed = False
