"""From received bytes to an event, a presence update or a dead letter."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cylinder_trace.app.dead_letters import payload_view
from cylinder_trace.app.valve_arrivals import DeadLetter, EventMessage, Presence
from cylinder_trace.ingest.decode import Received, decode
from cylinder_trace.mqtt.protocol import EventType, build_event, encode, verify_mac

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SECRET = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")

#: PROTOCOL.md's test vector, as a valve would send it (spaces and key order as printed there)
VECTOR = (
    b'{"v":1,"valve_id":"V0000001","seq":42,"ts":"2026-11-28T10:00:00.000Z","type":"fill_completed",\n'
    b' "data":{"auth_id":"3f2b8c1e-7d4a-4b6e-9c2d-1a5e8f7b6c3d","mass_kg":14.5},\n'
    b' "mac":"020a66c3d49bcf673ac708b8ce2801ba54d6b48af04cd6728311a1fe7061723c"}'
)


def received(topic: str, payload: bytes, retain: bool = False) -> Received:
    return Received(topic, payload, mid=1, qos=1, retain=retain, received_at=NOW, received_mono=0.0, generation=1)


def test_the_protocol_test_vector_decodes_and_verifies() -> None:
    decoded = decode(received("ct/v1/valves/V0000001/events", VECTOR))
    assert isinstance(decoded, EventMessage)
    assert decoded.key == ("V0000001", 42)
    assert decoded.digest == "020a66c3d49bcf673ac708b8ce2801ba54d6b48af04cd6728311a1fe7061723c"
    assert verify_mac(SECRET, decoded.message)
    assert not verify_mac(bytes(32), decoded.message)


def test_equal_content_gives_equal_digests_whatever_the_formatting() -> None:
    obj = json.loads(VECTOR)
    a = decode(received("ct/v1/valves/V0000001/events", json.dumps(obj, indent=2).encode()))
    b = decode(received("ct/v1/valves/V0000001/events", encode(obj)))
    assert isinstance(a, EventMessage) and isinstance(b, EventMessage) and a.digest == b.digest
    changed = decode(received("ct/v1/valves/V0000001/events",
                              encode(build_event(SECRET, "V0000001", 42, NOW, EventType.FILL_COMPLETED,
                                                 {"auth_id": "other", "mass_kg": 14.5}))))
    assert isinstance(changed, EventMessage) and changed.digest != a.digest


@pytest.mark.parametrize(("topic", "payload", "kind"), [
    ("ct/v1/valves/V1/events", b"{not json", "not_json"),
    ("ct/v1/valves/V1/events", b"\xff\xfe", "not_utf8"),
    ("ct/v1/valves/V1/events", b"[1, 2]", "not_json"),
    ("ct/v1/valves/V1/events", b"x" * 5000, "oversize"),
    ("ct/v1/valves/V1/events", encode({"v": 1, "valve_id": "V1", "seq": "1", "ts": "x", "type": "leak",
                                       "data": {}, "mac": "0" * 64}), "schema"),
    ("ct/v1/valves/V1/events", encode(build_event(SECRET, "V1", 1, NOW, EventType.LEAK, {"ppm": 5}) | {"type": "boom"}),
     "unknown_type"),
    ("ct/v1/valves/V2/events", encode(build_event(SECRET, "V1", 1, NOW, EventType.LEAK, {"ppm": 5})), "schema"),
    ("ct/v1/valves/V1/status", b"maybe", "bad_status"),
    ("ct/v1/valves/V1/commands", b"{}", "bad_topic"),
    ("somewhere/else", b"{}", "bad_topic"),
])
def test_what_cannot_be_accepted_is_a_dead_letter_with_a_kind(topic: str, payload: bytes, kind: str) -> None:
    decoded = decode(received(topic, payload))
    assert isinstance(decoded, DeadLetter), decoded
    assert decoded.kind == kind, decoded.reason
    assert decoded.reason


def test_status_messages_are_presence() -> None:
    on = decode(received("ct/v1/valves/V1/status", b"online", retain=True))
    off = decode(received("ct/v1/valves/V1/status", b"offline"))
    assert isinstance(on, Presence) and on.online and on.valve_id == "V1"
    assert isinstance(off, Presence) and not off.online


def test_payload_view_text_or_base64() -> None:
    assert payload_view(b'{"a": "\xe6\xb0\x94"}') == {"payload": '{"a": "气"}', "payload_encoding": "utf-8"}
    assert payload_view(b"almost text \xff here")["payload_encoding"] == "utf-8"
    assert payload_view(b"\x00\x01\x02binary") == {"payload": "AAECYmluYXJ5", "payload_encoding": "base64"}
    assert payload_view(bytes(range(128, 256)))["payload_encoding"] == "base64"
