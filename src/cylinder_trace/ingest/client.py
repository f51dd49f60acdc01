"""paho-mqtt 2.x clients for the service: protocol 3.1.1 or 5, persistent sessions, fast reads.

paho reads every packet with three or more ``recv`` calls (one byte of command, the length byte by
byte, then the body) and a ``select`` before each packet. :class:`BufferedClient` reads the socket in
64 KiB chunks instead and keeps parsing while whole packets are buffered (one system call for many
packets; ``bench/RESULTS-ingest.md`` has the per-packet cost), acknowledges a batch of
messages in one write (:meth:`BufferedClient.ack_many`), skips paho's per-topic callback lookup
when there are no per-topic callbacks, and decodes plain QoS 0/1 messages itself (paho builds an MQTT 5
properties object for each). It changes nothing else. These overrides reach into paho's internals, so
``pyproject.toml`` holds paho-mqtt to the minor version they are tested with.
"""

from __future__ import annotations

import ssl
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.client import PUBACK
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..mqtt.url import MqttUrl

Protocol = Literal["3.1.1", "5"]
_READ_CHUNK = 65536
_PUBACK = struct.Struct("!BBH")


class BufferedClient(mqtt.Client):
    """A paho client whose socket reads are buffered (see the module's docstring)."""

    #: bytes read off the socket and not yet handed to paho: ``_read_buffer[_read_pos:]``
    _read_buffer: bytes = b""
    _read_pos: int = 0
    _filtered_callbacks: bool = False

    def _sock_recv(self, bufsize: int) -> bytes:
        buffered, pos = self._read_buffer, self._read_pos
        if len(buffered) - pos < bufsize:
            try:
                more = super()._sock_recv(max(_READ_CHUNK, bufsize))
            except BlockingIOError:
                if pos >= len(buffered):
                    raise
                more = b""
            else:
                if not more and pos >= len(buffered):
                    return b""  # the peer closed the connection
            buffered, pos = buffered[pos:] + more, 0
            self._read_buffer = buffered
        end = min(pos + bufsize, len(buffered))
        self._read_pos = end
        return buffered[pos:end]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        # select() cannot see bytes already taken off the socket: go on while whole packets wait here
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._buffered() and self._sock is not None:
            rc = super().loop_read(max_packets)
        return rc

    def _buffered(self) -> bool:
        return self._read_pos < len(self._read_buffer)

    def _handle_publish(self) -> MQTTErrorCode:
        """PUBLISH at QoS 0 or 1 without MQTT 5 properties (what valves send), decoded here; anything
        else (QoS 2, properties, a malformed packet) goes to paho's own decoder. paho builds a
        ``Properties`` object for every MQTT 5 message, an empty one included: 8.5 µs of its 10
        (``bench/RESULTS-ingest.md``)."""
        v5 = self._protocol == mqtt.MQTTv5
        header, packet = self._in_packet["command"], self._in_packet["packet"]
        plain = plain_publish(header, packet, v5)
        if plain is None:
            return super()._handle_publish()
        topic, mid, payload = plain
        message = mqtt.MQTTMessage(mid=mid, topic=topic)
        message.dup = bool(header & 0x08)
        message.qos = (header & 0x06) >> 1
        message.retain = bool(header & 0x01)
        message.properties = _NO_PROPERTIES if v5 else None
        message.payload = payload
        message.timestamp = time.monotonic()
        self._handle_on_message(message)
        if message.qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def message_callback_add(self, sub: str, callback: Any) -> None:
        self._filtered_callbacks = True
        super().message_callback_add(sub, callback)

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        """paho walks its per-topic callback tree for every message, an empty one included; without
        per-topic callbacks this hands the message to ``on_message`` straight away, as paho then does."""
        if self._filtered_callbacks:
            super()._handle_on_message(message)
            return
        on_message = self.on_message
        if on_message is None:
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

    def _sock_close(self) -> None:
        self._read_buffer, self._read_pos = b"", 0
        super()._sock_close()

    def ack_many(self, mids: Sequence[int]) -> None:
        """Acknowledge QoS 1 messages (``manual_ack``), in order, as one write: the PUBACKs of a batch
        go out in one packet-queue entry, one wake-up of the network thread and one ``send``, instead of
        one of each per message. A PUBACK is the same four bytes in 3.1.1 and 5 (success, no properties).
        """
        if mids:
            packet = b"".join(_PUBACK.pack(PUBACK, 2, mid) for mid in mids)
            self._packet_queue(PUBACK, packet, 0, 1)


#: what a PUBLISH without MQTT 5 properties carries as ``message.properties`` (one shared, empty object)
_NO_PROPERTIES: Final = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]


def plain_publish(header: int, packet: bytes | bytearray, v5: bool) -> tuple[bytes, int, bytes] | None:
    """``(topic, mid, payload)`` of a QoS 0/1 PUBLISH body with no MQTT 5 properties, else None."""
    qos = (header & 0x06) >> 1
    if qos == 2 or len(packet) < 2:
        return None
    end = 2 + (packet[0] << 8 | packet[1])
    if end == 2 and not v5:
        return None  # an empty topic: paho refuses it
    mid = 0
    if qos:
        if len(packet) < end + 2:
            return None
        mid = packet[end] << 8 | packet[end + 1]
        end_of_header = end + 2
    else:
        end_of_header = end
    if v5:
        if len(packet) <= end_of_header or packet[end_of_header] != 0:
            return None  # properties (or a truncated packet): paho decodes them
        end_of_header += 1
    elif len(packet) < end_of_header:
        return None
    return bytes(packet[2:end]), mid, bytes(packet[end_of_header:])  # bytes, as paho's decoder returns


@dataclass(frozen=True, slots=True)
class SessionOptions:
    client_id: str
    protocol: Protocol
    #: keep the session (subscriptions, unacknowledged and queued messages) while disconnected
    persistent: bool = True
    #: MQTT 5: how long the broker keeps the session after a disconnect
    session_expiry_s: int = 7 * 24 * 3600
    #: MQTT 5: how many unacknowledged QoS 1 messages the broker may send us at once
    receive_maximum: int = 2000
    keepalive_s: int = 30


def new_client(options: SessionOptions, *, manual_ack: bool = False) -> BufferedClient:
    if options.protocol == "5":
        return BufferedClient(CallbackAPIVersion.VERSION2, client_id=options.client_id,
                              protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    return BufferedClient(CallbackAPIVersion.VERSION2, client_id=options.client_id, protocol=mqtt.MQTTv311,
                          clean_session=not options.persistent, manual_ack=manual_ack)


def connect_kwargs(options: SessionOptions) -> dict[str, Any]:
    """Arguments of ``connect``/``connect_async`` for a persistent (or clean) session."""
    kwargs: dict[str, Any] = {"keepalive": options.keepalive_s}
    if options.protocol == "5":
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = options.session_expiry_s if options.persistent else 0
        props.ReceiveMaximum = options.receive_maximum
        kwargs["clean_start"] = not options.persistent
        kwargs["properties"] = props
    return kwargs


def configure_transport(client: mqtt.Client, address: MqttUrl) -> None:
    if address.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
