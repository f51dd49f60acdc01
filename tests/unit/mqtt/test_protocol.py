from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain.canonical import canonical_json
from cylinder_trace.mqtt.protocol import (
    EVENTS_SUBSCRIPTION,
    MAX_MESSAGE_BYTES,
    CommandType,
    EventType,
    RejectedMessage,
    RejectKind,
    TopicKind,
    ValveTopic,
    authorize_fill_command,
    build_event,
    command_mac_ok,
    commands_topic,
    encode,
    events_topic,
    format_ts,
    lock_command,
    parse_command_message,
    parse_event_message,
    parse_topic,
    parse_ts,
    shared_events_subscription,
    sign_command,
    sign_message,
    status_topic,
    verify_mac,
)

# PROTOCOL.md, "Event message": the example and its test vector
SECRET = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
TOPIC = "ct/v1/valves/V0000001/events"
EXAMPLE: dict[str, Any] = {
    "v": 1,
    "valve_id": "V0000001",
    "seq": 42,
    "ts": "2026-11-28T10:00:00.000Z",
    "type": "fill_completed",
    "data": {"auth_id": "3f2b8c1e-7d4a-4b6e-9c2d-1a5e8f7b6c3d", "mass_kg": 14.5},
    "mac": "020a66c3d49bcf673ac708b8ce2801ba54d6b48af04cd6728311a1fe7061723c",
}
CANONICAL = (
    '{"data":{"auth_id":"3f2b8c1e-7d4a-4b6e-9c2d-1a5e8f7b6c3d","mass_kg":14.5},"seq":42,'
    '"ts":"2026-11-28T10:00:00.000Z","type":"fill_completed","v":1,"valve_id":"V0000001"}'
)


def payload(**changes: Any) -> bytes:
    obj = {**EXAMPLE, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...}).encode()


def test_the_protocol_test_vector() -> None:
    msg = parse_event_message(TOPIC, payload())
    assert canonical_json(msg.body()) == CANONICAL
    assert verify_mac(SECRET, msg)
    assert not verify_mac(bytes(32), msg)
    assert msg.valve_id == "V0000001" and msg.seq == 42 and msg.type is EventType.FILL_COMPLETED
    assert msg.ts == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert msg.as_dict() == EXAMPLE
    assert msg.lifecycle_relevant


def test_build_event_reproduces_the_test_vector() -> None:
    built = build_event(
        SECRET,
        "V0000001",
        42,
        datetime(2026, 11, 28, 10, tzinfo=UTC),
        EventType.FILL_COMPLETED,
        EXAMPLE["data"],
    )
    assert built == EXAMPLE


def test_the_pretty_printed_example_from_the_page_parses() -> None:
    text = json.dumps(EXAMPLE, indent=2, ensure_ascii=False).encode()
    assert verify_mac(SECRET, parse_event_message(TOPIC, text))


def test_a_changed_field_breaks_the_mac() -> None:
    tampered = parse_event_message(TOPIC, payload(data={**EXAMPLE["data"], "mass_kg": 15.5}))
    assert not verify_mac(SECRET, tampered)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"x" * (MAX_MESSAGE_BYTES + 1), "oversize"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b'{"v": NaN}', "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b'{"v":1,"v":1}', "duplicate key 'v'"),
        (payload(v=2), "unsupported protocol version v=2"),
        (payload(v="1"), "field 'v' must be an integer"),
        (payload(v=True), "field 'v' must be an integer"),
        (payload(valve_id="V0000002"), "does not match topic valve id"),
        (payload(seq=...), "missing field 'seq'"),
        (payload(seq="42"), "field 'seq' must be an integer"),
        (payload(seq=4.2), "field 'seq' must be an integer"),
        (payload(seq=0), "seq 0 out of range"),
        (payload(seq=2**63), "out of range"),
        (payload(ts=...), "missing field 'ts'"),
        (payload(ts="2026-11-28T10:00:00Z"), "bad ts"),
        (payload(ts="2026-11-28T10:00:00.000+08:00"), "bad ts"),
        (payload(ts="2026-02-30T10:00:00.000Z"), "bad ts"),
        (payload(ts=1764324000), "field 'ts' must be a string"),
        (payload(type="refuelled"), "unknown type 'refuelled'"),
        (payload(data=[]), "field 'data' must be an object"),
        (payload(data={"auth_id": "a"}), "bad data for fill_completed: missing field 'mass_kg'"),
        (payload(data={"auth_id": "a", "mass_kg": "14.5"}), "'mass_kg' must be a number"),
        (payload(data={"auth_id": "a", "mass_kg": -1}), "'mass_kg' must be between"),
        (payload(data={"auth_id": "a", "mass_kg": 1, "x": 1}), "unexpected field 'x'"),
        (payload(data={"auth_id": "", "mass_kg": 1}), "'auth_id' must be a non-empty string"),
        (
            payload(type="tamper", data={"kind": "dropped"}),
            "'kind' must be one of case_opened, valve_removed",
        ),
        (payload(type="heartbeat", data={"battery_pct": 101, "rssi": -70}), "'battery_pct' must be between"),
        (payload(type="opened", data={"why": "cooking"}), "bad data for opened: unexpected field 'why'"),
        (payload(mac=...), "missing field 'mac'"),
        (payload(mac="ABC"), "bad mac"),
        (payload(extra=1), "unexpected field 'extra'"),
    ],
)
def test_every_failure_has_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(RejectedMessage) as caught:
        parse_event_message(TOPIC, raw)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("topic", "raw", "kind"),
    [
        ("ct/v1/valves/V0000001/status", payload(), RejectKind.BAD_TOPIC),
        ("ct/v1/valves/a+b/events", payload(), RejectKind.BAD_TOPIC),
        (TOPIC, b"x" * (MAX_MESSAGE_BYTES + 1), RejectKind.OVERSIZE),
        (TOPIC, b"\xff", RejectKind.NOT_UTF8),
        (TOPIC, b"{", RejectKind.NOT_JSON),
        (TOPIC, b"[]", RejectKind.NOT_JSON),
        (TOPIC, b'{"v":1,"v":1}', RejectKind.NOT_JSON),
        (TOPIC, payload(type="refuelled"), RejectKind.UNKNOWN_TYPE),
        (TOPIC, payload(mac="x"), RejectKind.BAD_MAC),
        (TOPIC, payload(seq=0), RejectKind.SCHEMA),
        (TOPIC, payload(v=2), RejectKind.SCHEMA),
    ],
)
def test_every_rejection_has_a_stable_kind(topic: str, raw: bytes, kind: RejectKind) -> None:
    with pytest.raises(RejectedMessage) as caught:
        parse_event_message(topic, raw)
    assert caught.value.kind is kind


@pytest.mark.parametrize(
    "topic",
    [
        "ct/v1/valves/V0000001/commands",
        "ct/v1/valves/V0000001",
        "ct/v2/valves/V0000001/events",
        "ct/v1/valves/a+b/events",
        "ct/v1/valves/" + "V" * 33 + "/events",
        "x/ct/v1/valves/V0000001/events",
    ],
)
def test_events_only_on_a_valid_events_topic(topic: str) -> None:
    with pytest.raises(RejectedMessage):
        parse_event_message(topic, payload())


def test_a_custom_size_limit() -> None:
    with pytest.raises(RejectedMessage, match="oversize"):
        parse_event_message(TOPIC, payload(), max_bytes=100)


def test_topics() -> None:
    assert events_topic("V_1-a") == "ct/v1/valves/V_1-a/events"
    assert commands_topic("V1") == "ct/v1/valves/V1/commands"
    assert status_topic("V1") == "ct/v1/valves/V1/status"
    assert parse_topic("ct/v1/valves/V1/status") == ValveTopic("V1", TopicKind.STATUS)
    assert EVENTS_SUBSCRIPTION == "ct/v1/valves/+/events"
    assert shared_events_subscription("ct-ingest") == "$share/ct-ingest/ct/v1/valves/+/events"


@pytest.mark.parametrize("bad", ["", "V" * 33, "a/b", "+", "#", "V1\n", "阀1", "V 1"])
def test_topic_builders_refuse_bad_valve_ids(bad: str) -> None:
    with pytest.raises(ValueError):
        events_topic(bad)


def test_timestamps() -> None:
    moment = datetime(2026, 11, 28, 18, 0, 0, 123987, tzinfo=timezone(timedelta(hours=8)))
    assert format_ts(moment) == "2026-11-28T10:00:00.123Z"
    assert parse_ts("2026-11-28T10:00:00.123Z") == moment.replace(microsecond=123000)
    with pytest.raises(ValueError):
        format_ts(datetime(2026, 11, 28))


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()))
def test_a_formatted_timestamp_parses_back_to_its_millisecond(moment: datetime) -> None:
    text = format_ts(moment)
    parsed = parse_ts(text)
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)
    assert parsed == moment.astimezone(UTC).replace(microsecond=moment.astimezone(UTC).microsecond // 1000 * 1000)
    assert format_ts(parsed) == text


@pytest.mark.parametrize("bad", [
    "2026-11-28T10:00:00Z", "2026-11-28T10:00:00.123+00:00", "2026-11-28 10:00:00.123Z", "2026-11-28T10:00:00.1234Z",
    "2026-02-30T10:00:00.000Z", "2026-11-28T24:00:00.000Z", "2026-13-01T10:00:00.000Z", "2026-11-28T10:00:00.123z",
    "２026-11-28T10:00:00.123Z", "2026-11-28T10:00:00.123Z\n",
])
def test_parse_ts_takes_only_the_protocol_form(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_ts(bad)


def test_authorize_fill_command_round_trip() -> None:
    auth_id = uuid4()
    expires = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)
    cmd = authorize_fill_command(
        SECRET, "V0000001", auth_id=auth_id, station_id="ST-01", max_mass_kg=14.9, expires=expires
    )
    assert cmd["cmd"] == "authorize_fill" and cmd["expires"] == "2026-11-28T10:15:00.000Z"
    parsed = parse_command_message(commands_topic("V0000001"), encode(cmd))
    assert parsed.cmd is CommandType.AUTHORIZE_FILL
    assert parsed.fields["auth_id"] == str(auth_id)
    assert parsed.expires == expires
    assert command_mac_ok(SECRET, parsed)
    assert not command_mac_ok(bytes(32), parsed)


def test_lock_command_and_sign_command_leave_the_input_alone() -> None:
    body = {"v": 1, "valve_id": "V0000001", "cmd": "lock", "reason": "seized"}
    signed = sign_command(SECRET, body)
    assert "mac" not in body and signed == {**body, "mac": signed["mac"]}
    assert signed == lock_command(SECRET, "V0000001", reason="seized")
    assert command_mac_ok(SECRET, parse_command_message(commands_topic("V0000001"), encode(signed)))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"cmd": "open_sesame"}, "unknown cmd"),
        ({"auth_id": "not-a-uuid"}, "'auth_id' must be a lowercase UUID"),
        ({"max_mass_kg": 0}, "'max_mass_kg' must be a number > 0"),
        ({"expires": "tomorrow"}, "'expires' must be"),
        ({"station_id": ""}, "'station_id' must be a non-empty string"),
        ({"valve_id": "V0000002"}, "does not match topic"),
        ({"extra": 1}, "unexpected ['extra']"),
    ],
)
def test_malformed_commands(change: dict[str, Any], reason: str) -> None:
    cmd = authorize_fill_command(
        SECRET, "V0000001", auth_id=uuid4(), station_id="ST-01", max_mass_kg=14.9, expires=datetime.now(UTC)
    )
    with pytest.raises(RejectedMessage) as caught:
        parse_command_message(commands_topic("V0000001"), encode({**cmd, **change}))
    assert reason in caught.value.reason


def test_command_builders_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        authorize_fill_command(SECRET, "V1", auth_id="nope", station_id="S", max_mass_kg=1, expires=datetime.now(UTC))
    with pytest.raises(ValueError):
        authorize_fill_command(SECRET, "V1", auth_id=uuid4(), station_id="S", max_mass_kg=-1, expires=datetime.now(UTC))
    with pytest.raises(ValueError):
        lock_command(SECRET, "V1", reason="")
    with pytest.raises(ValueError):
        sign_command(SECRET, {"v": 1, "valve_id": "V1", "cmd": "explode"})


valve_ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,32}\Z")
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
pct = st.floats(0, 100, allow_nan=False)
event_bodies: st.SearchStrategy[tuple[EventType, dict[str, Any]]] = st.one_of(
    st.tuples(
        st.just(EventType.HEARTBEAT),
        st.fixed_dictionaries({"battery_pct": pct, "rssi": st.integers(-120, 0)}, optional={"level_pct": pct}),
    ),
    st.tuples(st.sampled_from([EventType.OPENED, EventType.CLOSED]), st.just({})),
    st.tuples(
        st.just(EventType.FILL_COMPLETED),
        st.fixed_dictionaries({"auth_id": st.uuids().map(str), "mass_kg": st.floats(0, 60, allow_nan=False)}),
    ),
    st.tuples(
        st.just(EventType.FILL_DENIED),
        st.fixed_dictionaries({"reason": st.one_of(
            st.text(min_size=1, max_size=50).filter(str.strip),
            st.builds(lambda mac: f',"mac":"{mac}"', st.from_regex(r"\A[0-9a-f]{64}\Z")),  # a member in disguise
        )}),
    ),
    st.tuples(st.just(EventType.LEAK), st.fixed_dictionaries({"ppm": st.integers(0, 100_000)})),
)


@given(valve_ids, st.integers(1, 2**63 - 1), moments, event_bodies, st.binary(min_size=32, max_size=32))
def test_every_event_a_valve_can_build_parses_back_and_verifies(
    valve_id: str, seq: int, ts: datetime, body: tuple[EventType, dict[str, Any]], secret: bytes
) -> None:
    event_type, data = body
    built = build_event(secret, valve_id, seq, ts, event_type, data)
    payload = encode(built)
    parsed = parse_event_message(events_topic(valve_id), payload)
    assert parsed.as_dict() == built
    assert verify_mac(secret, parsed)
    wire = json.dumps(built, ensure_ascii=False).encode()  # the same message, not in canonical form
    assert verify_mac(secret, parse_event_message(events_topic(valve_id), wire))


@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_rejected_with_a_reason_never_a_crash(raw: bytes) -> None:
    try:
        parse_event_message(TOPIC, raw)
    except RejectedMessage as exc:
        assert exc.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
envelopes = st.dictionaries(
    st.sampled_from(["v", "valve_id", "seq", "ts", "type", "data", "mac", "other"]), json_values
).map(lambda obj: {**EXAMPLE, **obj})


@given(envelopes)
def test_arbitrary_envelopes_are_parsed_or_rejected_with_a_reason(obj: dict[str, Any]) -> None:
    try:
        msg = parse_event_message(TOPIC, json.dumps(obj).encode())
    except RejectedMessage as exc:
        assert exc.reason
    else:
        assert msg.as_dict() == obj


def test_a_mac_over_anything_but_the_canonical_form_is_refused() -> None:
    """A valve that signs its own, non-canonical bytes (here: keys out of order) is not accepted."""
    body = {"data": {"battery_pct": 80, "rssi": -60}, "type": "heartbeat", "seq": 7, "v": 1,
            "valve_id": "V0000001", "ts": "2026-11-28T10:00:00.000Z"}
    signed_bytes = json.dumps(body, separators=(",", ":")).encode()
    mac = hmac.new(SECRET, signed_bytes, hashlib.sha256).hexdigest()
    payload = signed_bytes[:-1] + f',"mac":"{mac}"}}'.encode()
    msg = parse_event_message(TOPIC, payload)
    assert not verify_mac(SECRET, msg)
    assert verify_mac(SECRET, parse_event_message(TOPIC, encode(sign_message(SECRET, body))))
