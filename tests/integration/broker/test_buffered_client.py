"""The service's paho client (:class:`~cylinder_trace.ingest.client.BufferedClient`) against a real
Mosquitto: buffered reads hand over every message whole and in order, packets of every size included;
``ack_many`` acknowledges a batch, so the broker sends more; per-topic callbacks still
get their topics when they are used."""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cylinder_trace.ingest.client import BufferedClient, SessionOptions, connect_kwargs, new_client
from tests.integration.ingest.infra import Publisher, wait_until
from tests.support.mosquitto import RunningMosquitto, mosquitto_fixture

pytestmark = pytest.mark.broker

mosquitto = mosquitto_fixture(scope="module")

#: payload sizes across the one- to three-byte remaining-length forms, up to what ``max_packet_size``
#: (64 KiB for the whole packet, deploy/mosquitto.conf) admits; packets straddle the 64 KiB reads
SIZES = [0, 1, 126, 127, 128, 16_383, 16_384, 40_000, 65_000]


class Collector:
    def __init__(self, client: BufferedClient, topic: str) -> None:
        self.client = client
        self.received: list[tuple[str, bytes, int]] = []
        self.messages: list[mqtt.MQTTMessage] = []
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        client.on_connect = lambda c, _u, _f, _r, _p: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *_a: self.subscribed.set()
        client.on_message = self.on_message

    def on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((message.topic, bytes(message.payload), message.mid))
            self.messages.append(message)

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def acknowledge_until(self, count: int, timeout: float) -> None:
        """Acknowledge what arrives, a batch at a time (the broker sends no more than its in-flight
        window unacknowledged), until ``count`` messages are in."""
        acked = 0

        def settle() -> bool:
            nonlocal acked
            with self._lock:
                fresh = [mid for _, _, mid in self.received[acked:]]
            self.client.ack_many(fresh)
            acked += len(fresh)
            return acked >= count

        wait_until(settle, timeout, f"{count} messages")


def connected(broker: RunningMosquitto, options: SessionOptions, topic: str) -> Collector:
    collector = Collector(new_client(options, manual_ack=True), topic)
    collector.client.connect(broker.host, broker.port, **connect_kwargs(options))
    collector.client.loop_start()
    assert collector.subscribed.wait(10), "not subscribed"
    return collector


def close(collector: Collector) -> None:
    collector.client.disconnect()
    collector.client.loop_stop()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_every_message_arrives_whole_and_in_order_and_ack_many_settles_them(
    mosquitto: RunningMosquitto, protocol: str
) -> None:
    """The broker sends no more than its in-flight window (MQTT 5: our receive maximum of 50; 3.1.1:
    ``max_inflight_messages`` 10000) unacknowledged: that all of many more arrive shows the broker took
    the acknowledgements ``ack_many`` wrote."""
    topic = f"ct/test/buffered/{protocol}"
    messages = [(f"{topic}/{i}", bytes([i % 251]) * size) for i, size in enumerate(SIZES * 3)]
    messages += [(f"{topic}/small/{i}", f"m{i}".encode()) for i in range(12_000)]
    options = SessionOptions(f"ct-test-buffered-{protocol}", "5" if protocol == "5" else "3.1.1",
                             persistent=True, receive_maximum=50)
    collector = connected(mosquitto, options, f"{topic}/#")
    try:
        publisher = Publisher(mosquitto.host, mosquitto.port, messages, client_id=f"ct-test-pub-{protocol}",
                              protocol=protocol)
        publisher.start()
        publisher.wait(60)
        publisher.close()
        collector.acknowledge_until(len(messages), 60)
        assert [(t, p) for t, p, _ in collector.received] == messages
    finally:
        close(collector)


def test_per_topic_callbacks_still_get_their_topics(mosquitto: RunningMosquitto) -> None:
    topic = "ct/test/filtered"
    options = SessionOptions("ct-test-filtered", "5", persistent=False)
    collector = connected(mosquitto, options, f"{topic}/#")
    filtered: list[bytes] = []
    collector.client.message_callback_add(f"{topic}/special/+", lambda _c, _u, m: filtered.append(m.payload))
    try:
        messages = [(f"{topic}/special/a", b"1"), (f"{topic}/plain", b"2"), (f"{topic}/special/b", b"3")]
        publisher = Publisher(mosquitto.host, mosquitto.port, messages, client_id="ct-test-pub-filtered",
                              protocol="5")
        publisher.start()
        publisher.wait(30)
        publisher.close()
        wait_until(lambda: len(filtered) + collector.count() >= 3, 30, "three messages")
        assert filtered == [b"1", b"3"]
        assert [(t, p) for t, p, _ in collector.received] == [(f"{topic}/plain", b"2")]
    finally:
        close(collector)


def test_flags_qos_and_mqtt5_properties_come_through(mosquitto: RunningMosquitto) -> None:
    """Plain messages take the client's own decoder, ones with MQTT 5 properties paho's: both arrive
    with their QoS, retain flag and properties."""
    topic = "ct/test/properties"
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ct-test-pub-props", protocol=mqtt.MQTTv5)
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()
    try:
        retained = publisher.publish(f"{topic}/retained", b"kept", qos=1, retain=True)
        retained.wait_for_publish(10)
        collector = connected(mosquitto, SessionOptions("ct-test-props", "5", persistent=False), f"{topic}/#")
        try:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.UserProperty = ("site", "S1")
            props.ContentType = "application/json"
            for info in (publisher.publish(f"{topic}/with", b"p", qos=1, properties=props),
                         publisher.publish(f"{topic}/plain0", b"q0", qos=0),
                         publisher.publish(f"{topic}/plain1", b"q1", qos=1)):
                info.wait_for_publish(10)
            collector.acknowledge_until(4, 30)
            by_topic = {m.topic: m for m in collector.messages}
            kept = by_topic[f"{topic}/retained"]
            assert (kept.payload, kept.qos, kept.retain) == (b"kept", 1, True)
            with_props = by_topic[f"{topic}/with"]
            assert with_props.properties is not None
            assert with_props.properties.UserProperty == [("site", "S1")]
            assert with_props.properties.ContentType == "application/json"
            assert (by_topic[f"{topic}/plain0"].qos, by_topic[f"{topic}/plain0"].mid) == (0, 0)
            plain1 = by_topic[f"{topic}/plain1"]
            assert (plain1.payload, plain1.qos, plain1.retain, plain1.dup) == (b"q1", 1, False, False)
        finally:
            close(collector)
    finally:
        publisher.publish(f"{topic}/retained", b"", qos=1, retain=True).wait_for_publish(10)
        publisher.disconnect()
        publisher.loop_stop()
