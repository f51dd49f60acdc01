"""The ingest client's own PUBLISH decoder agrees with paho's wherever it answers, and answers for every
QoS 0/1 message without MQTT 5 properties."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.client import MQTTv5, MQTTv311

from cylinder_trace.ingest.client import plain_publish


def body(topic: bytes, mid: int | None, properties: bytes | None, payload: bytes) -> bytes:
    return (struct.pack("!H", len(topic)) + topic + (b"" if mid is None else struct.pack("!H", mid))
            + (b"" if properties is None else properties) + payload)


@given(
    topic=st.binary(min_size=1, max_size=80), payload=st.binary(max_size=300), qos=st.integers(0, 2),
    mid=st.integers(1, 65535), v5=st.booleans(), retain=st.booleans(), dup=st.booleans(),
    properties=st.sampled_from([b"\x00", b"\x03\x03\x00\x00", b"\x05\x02\x00\x00\x00\x3c"]),
)
def test_agrees_with_paho(topic: bytes, payload: bytes, qos: int, mid: int, v5: bool, retain: bool, dup: bool,
                          properties: bytes) -> None:
    header = 0x30 | (dup << 3) | (qos << 1) | retain
    packet = bytearray(body(topic, mid if qos else None, properties if v5 else None, payload))
    ours = plain_publish(header, packet, v5)
    theirs = _packet.decode_publish(header, bytes(packet), MQTTv5 if v5 else MQTTv311)
    plain = qos < 2 and (not v5 or properties == b"\x00")
    assert (ours is not None) == plain
    if ours is not None:
        assert ours == (theirs.topic, theirs.mid, theirs.payload)
        assert all(type(part) is bytes for part in (ours[0], ours[2]))


@given(st.binary(max_size=6), st.integers(0, 1), st.booleans())
def test_short_or_empty_topic_packets_are_left_to_paho(packet: bytes, qos: int, v5: bool) -> None:
    result = plain_publish(0x30 | (qos << 1), bytearray(packet), v5)
    if result is not None:
        topic, _mid, _payload = result
        assert len(packet) >= 2 + len(topic) + 2 * qos + v5
        assert topic or v5
