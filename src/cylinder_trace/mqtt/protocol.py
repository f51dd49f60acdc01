"""The pure pieces of the smart valve protocol, version 1 (the contract ``PROTOCOL.md``).

Topics, the event message schema, and signed commands. No I/O: the ingestor feeds payloads in and
gets a :class:`ValveMessage` or a :class:`RejectedMessage` with a reason for its dead-letter table.
MAC verification is separate (:func:`verify_mac`) because it needs the valve's secret.

Strictness, deliberately: version 1 is frozen (a change is a version 2 beside it), so an unknown
top-level or ``data`` field is refused rather than silently dropped from the stored event; the
``mac`` covers every byte of meaning, so what is stored is exactly what was signed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, TypeGuard
from uuid import UUID

from cylinder_trace.domain.canonical import body_mac_matches, canonical_json, hmac_hex, mac_matches

PROTOCOL_VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 4096
TOPIC_ROOT: Final = "ct/v1/valves"
VALVE_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,32}$"
_VALVE_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: what a single ingestor subscribes to
EVENTS_SUBSCRIPTION: Final = f"{TOPIC_ROOT}/+/events"
STATUS_SUBSCRIPTION: Final = f"{TOPIC_ROOT}/+/status"
STATUS_ONLINE: Final = b"online"
STATUS_OFFLINE: Final = b"offline"
#: ``seq`` is stored as a signed 64-bit integer
MAX_SEQ: Final = 2**63 - 1
_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def shared_events_subscription(group: str) -> str:
    """``$share/{group}/ct/v1/valves/+/events``: ingestors in one group share the stream (MQTT 5)."""
    return f"$share/{group}/{EVENTS_SUBSCRIPTION}"


class RejectKind(StrEnum):
    """A stable category of :class:`RejectedMessage`, for metrics and dead-letter queries."""

    BAD_TOPIC = "bad_topic"
    OVERSIZE = "oversize"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    UNKNOWN_TYPE = "unknown_type"
    BAD_MAC = "bad_mac"
    #: everything else: missing or wrong-typed fields, v, valve id, seq, ts, data
    SCHEMA = "schema"


class RejectedMessage(ValueError):
    """A payload or topic that breaks the protocol; ``reason`` says how, for the dead-letter table,
    ``kind`` which category that is (the wording of ``reason`` may improve, ``kind`` stays)."""

    def __init__(self, reason: str, kind: RejectKind = RejectKind.SCHEMA) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


# --- topics ---------------------------------------------------------------------------------------


class TopicKind(StrEnum):
    EVENTS = "events"
    COMMANDS = "commands"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class ValveTopic:
    valve_id: str
    kind: TopicKind


def is_valid_valve_id(valve_id: object) -> bool:
    return isinstance(valve_id, str) and _VALVE_ID.fullmatch(valve_id) is not None


def _topic(valve_id: str, kind: TopicKind) -> str:
    if not is_valid_valve_id(valve_id):
        raise ValueError(f"invalid valve id {valve_id!r}: 1-32 characters of A-Z a-z 0-9 _ -")
    return f"{TOPIC_ROOT}/{valve_id}/{kind.value}"


def events_topic(valve_id: str) -> str:
    return _topic(valve_id, TopicKind.EVENTS)


def commands_topic(valve_id: str) -> str:
    return _topic(valve_id, TopicKind.COMMANDS)


def status_topic(valve_id: str) -> str:
    return _topic(valve_id, TopicKind.STATUS)


def parse_topic(topic: str) -> ValveTopic:
    """``ct/v1/valves/V1/events`` → ``ValveTopic("V1", EVENTS)``; anything else is rejected."""
    root, sep, rest = topic.rpartition("/")
    prefix, _, valve_id = root.rpartition("/")
    if not sep or prefix != TOPIC_ROOT:
        raise RejectedMessage(f"topic {topic!r} is not under {TOPIC_ROOT}/{{valve_id}}/", RejectKind.BAD_TOPIC)
    if not is_valid_valve_id(valve_id):
        raise RejectedMessage(f"topic {topic!r}: invalid valve id", RejectKind.BAD_TOPIC)
    try:
        kind = TopicKind(rest)
    except ValueError:
        raise RejectedMessage(f"topic {topic!r}: unknown kind {rest!r}", RejectKind.BAD_TOPIC) from None
    return ValveTopic(valve_id, kind)


# --- time ------------------------------------------------------------------------------------------


def format_ts(moment: datetime) -> str:
    """``2026-11-28T10:00:00.000Z``: ISO 8601 UTC with milliseconds (truncated, not rounded)."""
    if moment.tzinfo is None:
        raise ValueError("a protocol timestamp needs an aware datetime")
    t = moment.astimezone(UTC)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{t.microsecond // 1000:03d}Z"
    )


def parse_ts(text: str) -> datetime:
    """The inverse of :func:`format_ts`; raises ``ValueError`` for anything else."""
    if _TS.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ")
    return datetime.fromisoformat(text).astimezone(UTC)  # the pattern above admits nothing else


# --- events ----------------------------------------------------------------------------------------


class EventType(StrEnum):
    HEARTBEAT = "heartbeat"
    OPENED = "opened"
    CLOSED = "closed"
    FILL_STARTED = "fill_started"
    FILL_COMPLETED = "fill_completed"
    FILL_DENIED = "fill_denied"
    REFILL_DETECTED = "refill_detected"
    TAMPER = "tamper"
    LEAK = "leak"
    LOW_BATTERY = "low_battery"


#: events that belong to the history of the cylinder the valve is fitted to
LIFECYCLE_EVENT_TYPES: Final = frozenset(
    {
        EventType.OPENED,
        EventType.CLOSED,
        EventType.FILL_STARTED,
        EventType.FILL_COMPLETED,
        EventType.FILL_DENIED,
        EventType.REFILL_DETECTED,
        EventType.TAMPER,
        EventType.LEAK,
    }
)
TAMPER_KINDS: Final = frozenset({"valve_removed", "case_opened"})

_ENVELOPE_FIELDS: Final = frozenset({"v", "valve_id", "seq", "ts", "type", "data", "mac"})
_MAC = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ValveMessage:
    """A well-formed event message. Its MAC is not yet checked: see :func:`verify_mac`."""

    valve_id: str
    seq: int
    #: the valve's clock, as a datetime (UTC)
    ts: datetime
    #: the valve's clock exactly as sent (part of what the MAC covers)
    ts_text: str
    type: EventType
    data: Mapping[str, Any]
    mac: str
    v: int = PROTOCOL_VERSION

    def body(self) -> dict[str, Any]:
        """The signed object: the message without ``mac``."""
        return {
            "v": self.v,
            "valve_id": self.valve_id,
            "seq": self.seq,
            "ts": self.ts_text,
            "type": self.type.value,
            "data": dict(self.data),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "mac": self.mac}

    def canonical(self) -> str:
        """Canonical JSON of the whole message: two deliveries are the same event iff this is equal."""
        return canonical_json(self.as_dict())

    @property
    def lifecycle_relevant(self) -> bool:
        return self.type in LIFECYCLE_EVENT_TYPES


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(lo: float, hi: float) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if not _is_number(value):
            return "must be a number"
        if not lo <= value <= hi:
            return f"must be between {lo:g} and {hi:g}"
        return None

    return check


def _text(max_len: int) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "must be a non-empty string"
        if len(value) > max_len:
            return f"must be at most {max_len} characters"
        return None

    return check


def _one_of(options: frozenset[str]) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value not in options:
            return "must be one of " + ", ".join(sorted(options))
        return None

    return check


def _positive(value: object) -> str | None:
    if not _is_number(value):
        return "must be a number"
    if not 0 < value <= 1000:
        return "must be > 0 and <= 1000"
    return None


# An ``auth_id`` in an event is any short string, not necessarily a UUID: a ``fill_completed`` naming
# an authorization that was never issued is exactly what VALVE_ILLEGAL_REFILL is about, so it must reach
# the rules instead of the dead-letter table.
_AUTH_ID = _text(64)
_PCT = _number(0, 100)
_KG = _number(0, 1000)

#: per event type: field → (required, check)
_DATA_SCHEMA: Final[Mapping[EventType, Mapping[str, tuple[bool, Callable[[object], str | None]]]]] = {
    EventType.HEARTBEAT: {
        "battery_pct": (True, _PCT),
        "rssi": (True, _number(-200, 0)),
        "level_pct": (False, _PCT),
    },
    EventType.OPENED: {},
    EventType.CLOSED: {},
    EventType.FILL_STARTED: {"auth_id": (True, _AUTH_ID)},
    EventType.FILL_COMPLETED: {"auth_id": (True, _AUTH_ID), "mass_kg": (True, _KG)},
    EventType.FILL_DENIED: {"reason": (True, _text(200))},
    EventType.REFILL_DETECTED: {"delta_kg": (True, _positive)},
    EventType.TAMPER: {"kind": (True, _one_of(TAMPER_KINDS))},
    EventType.LEAK: {"ppm": (True, _number(0, 1_000_000))},
    EventType.LOW_BATTERY: {"battery_pct": (True, _PCT)},
}


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise RejectedMessage(f"duplicate key {key!r}", RejectKind.NOT_JSON)
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise RejectedMessage(f"not JSON: {name} is not a JSON number", RejectKind.NOT_JSON)


#: one decoder for every message (``json.loads`` with options builds a new one each time)
_DECODER: Final = json.JSONDecoder(object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)


def decode_json_object(payload: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """Size, UTF-8, JSON (no duplicate keys, no NaN) and object-ness, in that order."""
    if len(payload) > max_bytes:
        raise RejectedMessage(f"oversize: {len(payload)} bytes > {max_bytes}", RejectKind.OVERSIZE)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RejectedMessage(f"not UTF-8: {exc.reason} at byte {exc.start}", RejectKind.NOT_UTF8) from None
    try:
        obj = _DECODER.decode(text)
    except RejectedMessage:
        raise
    except json.JSONDecodeError as exc:
        raise RejectedMessage(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", RejectKind.NOT_JSON
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer with too many digits, deep nesting
        raise RejectedMessage(f"not JSON: {type(exc).__name__}", RejectKind.NOT_JSON) from None
    if not isinstance(obj, dict):
        raise RejectedMessage(f"not a JSON object: {type(obj).__name__}", RejectKind.NOT_JSON)
    return obj


def _field(obj: Mapping[str, Any], name: str, kind: type, label: str) -> Any:
    if name not in obj:
        raise RejectedMessage(f"missing field {name!r}")
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, kind):  # no field of the protocol is a boolean
        raise RejectedMessage(f"field {name!r} must be {label}, got {type(value).__name__}")
    return value


def _check_version(obj: Mapping[str, Any]) -> None:
    v = _field(obj, "v", int, "an integer")
    if v != PROTOCOL_VERSION:
        raise RejectedMessage(f"unsupported protocol version v={v}, expected {PROTOCOL_VERSION}")


def _check_valve_id(obj: Mapping[str, Any], topic_valve_id: str) -> str:
    valve_id: str = _field(obj, "valve_id", str, "a string")
    if valve_id != topic_valve_id:
        raise RejectedMessage(f"valve_id {valve_id[:40]!r} does not match topic valve id {topic_valve_id!r}")
    return valve_id


def _check_data(event_type: EventType, data: Mapping[str, Any]) -> None:
    schema = _DATA_SCHEMA[event_type]
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise RejectedMessage(f"bad data for {event_type.value}: unexpected field {unknown[0][:40]!r}")
    for name, (required, check) in schema.items():
        if name not in data:
            if required:
                raise RejectedMessage(f"bad data for {event_type.value}: missing field {name!r}")
            continue
        problem = check(data[name])
        if problem is not None:
            raise RejectedMessage(f"bad data for {event_type.value}: {name!r} {problem}")


def parse_event_message(topic: str, payload: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> ValveMessage:
    """Validate an event message received on ``topic``; raise :class:`RejectedMessage` with a reason.

    Checks, in order: topic, size, UTF-8, JSON, object, envelope fields and their types, ``v``,
    ``valve_id`` against the topic, ``seq``, ``ts``, ``type``, ``data`` for that type, ``mac`` shape.
    """
    parsed_topic = parse_topic(topic)
    if parsed_topic.kind is not TopicKind.EVENTS:
        raise RejectedMessage(f"topic {topic!r} is not an events topic", RejectKind.BAD_TOPIC)
    obj = decode_json_object(payload, max_bytes)
    _check_version(obj)
    valve_id = _check_valve_id(obj, parsed_topic.valve_id)
    seq: int = _field(obj, "seq", int, "an integer")
    ts_text: str = _field(obj, "ts", str, "a string")
    type_text: str = _field(obj, "type", str, "a string")
    data: dict[str, Any] = _field(obj, "data", dict, "an object")
    mac: str = _field(obj, "mac", str, "a string")
    unknown = sorted(set(obj) - _ENVELOPE_FIELDS)
    if unknown:
        raise RejectedMessage(f"unexpected field {unknown[0][:40]!r}")
    if not 1 <= seq <= MAX_SEQ:
        raise RejectedMessage(f"seq {seq} out of range: must be 1 to {MAX_SEQ}")
    try:
        ts = parse_ts(ts_text)
    except ValueError:
        raise RejectedMessage(f"bad ts {ts_text[:40]!r}: expected UTC YYYY-MM-DDTHH:MM:SS.mmmZ") from None
    try:
        event_type = EventType(type_text)
    except ValueError:
        raise RejectedMessage(f"unknown type {type_text[:40]!r}", RejectKind.UNKNOWN_TYPE) from None
    _check_data(event_type, data)
    if _MAC.fullmatch(mac) is None:
        raise RejectedMessage("bad mac: expected 64 lowercase hex digits", RejectKind.BAD_MAC)
    return ValveMessage(valve_id=valve_id, seq=seq, ts=ts, ts_text=ts_text, type=event_type, data=data, mac=mac)


def verify_mac(secret: bytes, msg: ValveMessage) -> bool:
    """Whether ``msg`` was signed with ``secret`` (constant-time comparison)."""
    return body_mac_matches(secret, msg.body(), msg.mac)


def sign_message(secret: bytes, body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` (any ``mac`` in it dropped) with its ``mac`` over the canonical form."""
    unsigned = {k: v for k, v in body.items() if k != "mac"}
    return {**unsigned, "mac": hmac_hex(secret, unsigned)}


def build_event(
    secret: bytes,
    valve_id: str,
    seq: int,
    ts: datetime,
    event_type: EventType,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A signed event message, as a valve sends it."""
    return sign_message(
        secret,
        {
            "v": PROTOCOL_VERSION,
            "valve_id": valve_id,
            "seq": seq,
            "ts": format_ts(ts),
            "type": event_type.value,
            "data": dict(data or {}),
        },
    )


def encode(message: Mapping[str, Any]) -> bytes:
    """The wire form of a message: its canonical JSON (any JSON would do; this one is compact)."""
    return canonical_json(dict(message)).encode("utf-8")


# --- commands --------------------------------------------------------------------------------------


class CommandType(StrEnum):
    AUTHORIZE_FILL = "authorize_fill"
    LOCK = "lock"


_COMMAND_FIELDS: Final[Mapping[CommandType, frozenset[str]]] = {
    CommandType.AUTHORIZE_FILL: frozenset({"auth_id", "station_id", "max_mass_kg", "expires"}),
    CommandType.LOCK: frozenset({"reason"}),
}


def sign_command(secret: bytes, cmd: dict[str, Any]) -> dict[str, Any]:
    """``cmd`` (``v``, ``valve_id``, ``cmd`` and its fields) with its ``mac``; ``cmd`` is not changed.

    The command's own fields sit beside ``cmd`` at the top level of the envelope.
    """
    if cmd.get("v") != PROTOCOL_VERSION or not is_valid_valve_id(cmd.get("valve_id")):
        raise ValueError("a command needs v=1 and a valid valve_id")
    if cmd.get("cmd") not in set(CommandType):
        raise ValueError(f"unknown command {cmd.get('cmd')!r}")
    return sign_message(secret, cmd)


def authorize_fill_command(
    secret: bytes,
    valve_id: str,
    *,
    auth_id: UUID | str,
    station_id: str,
    max_mass_kg: float,
    expires: datetime,
) -> dict[str, Any]:
    """A signed ``authorize_fill``: unlock for one fill at ``station_id`` until ``expires``."""
    if not _is_number(max_mass_kg) or max_mass_kg <= 0:
        raise ValueError("max_mass_kg must be a positive number")
    if not station_id:
        raise ValueError("station_id must not be empty")
    return sign_command(
        secret,
        {
            "v": PROTOCOL_VERSION,
            "valve_id": valve_id,
            "cmd": CommandType.AUTHORIZE_FILL.value,
            "auth_id": str(UUID(str(auth_id))),
            "station_id": station_id,
            "max_mass_kg": max_mass_kg,
            "expires": format_ts(expires),
        },
    )


def lock_command(secret: bytes, valve_id: str, *, reason: str) -> dict[str, Any]:
    """A signed ``lock``: stay locked, and drop any pending authorization."""
    if not reason:
        raise ValueError("reason must not be empty")
    return sign_command(
        secret, {"v": PROTOCOL_VERSION, "valve_id": valve_id, "cmd": CommandType.LOCK.value, "reason": reason}
    )


@dataclass(frozen=True, slots=True)
class ValveCommand:
    """A well-formed command as a valve reads it. Its MAC is not yet checked: see :func:`command_mac_ok`."""

    valve_id: str
    cmd: CommandType
    fields: Mapping[str, Any]
    mac: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": PROTOCOL_VERSION,
            "valve_id": self.valve_id,
            "cmd": self.cmd.value,
            **self.fields,
            "mac": self.mac,
        }

    @property
    def expires(self) -> datetime | None:
        text = self.fields.get("expires")
        return parse_ts(text) if isinstance(text, str) else None


def parse_command_message(topic: str, payload: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> ValveCommand:
    """Validate a command received on ``topic``; raise :class:`RejectedMessage` with a reason."""
    parsed_topic = parse_topic(topic)
    if parsed_topic.kind is not TopicKind.COMMANDS:
        raise RejectedMessage(f"topic {topic!r} is not a commands topic", RejectKind.BAD_TOPIC)
    obj = decode_json_object(payload, max_bytes)
    _check_version(obj)
    valve_id = _check_valve_id(obj, parsed_topic.valve_id)
    cmd_text: str = _field(obj, "cmd", str, "a string")
    mac: str = _field(obj, "mac", str, "a string")
    try:
        cmd = CommandType(cmd_text)
    except ValueError:
        raise RejectedMessage(f"unknown cmd {cmd_text[:40]!r}", RejectKind.UNKNOWN_TYPE) from None
    fields = {k: v for k, v in obj.items() if k not in {"v", "valve_id", "cmd", "mac"}}
    expected = _COMMAND_FIELDS[cmd]
    if set(fields) != expected:
        missing, extra = sorted(expected - set(fields)), sorted(set(fields) - expected)
        raise RejectedMessage(f"bad fields for {cmd.value}: missing {missing}, unexpected {extra}")
    if cmd is CommandType.AUTHORIZE_FILL:
        _check_authorize_fill(fields)
    elif _text(200)(fields["reason"]) is not None:
        raise RejectedMessage("bad fields for lock: 'reason' must be a non-empty string")
    if _MAC.fullmatch(mac) is None:
        raise RejectedMessage("bad mac: expected 64 lowercase hex digits", RejectKind.BAD_MAC)
    return ValveCommand(valve_id=valve_id, cmd=cmd, fields=fields, mac=mac)


def _check_authorize_fill(fields: Mapping[str, Any]) -> None:
    auth_id = fields["auth_id"]
    try:
        if not isinstance(auth_id, str) or str(UUID(auth_id)) != auth_id:
            raise ValueError
    except ValueError:
        raise RejectedMessage("bad fields for authorize_fill: 'auth_id' must be a lowercase UUID") from None
    if _text(64)(fields["station_id"]) is not None:
        raise RejectedMessage("bad fields for authorize_fill: 'station_id' must be a non-empty string")
    if _positive(fields["max_mass_kg"]) is not None:
        raise RejectedMessage("bad fields for authorize_fill: 'max_mass_kg' must be a number > 0")
    expires = fields["expires"]
    try:
        if not isinstance(expires, str):
            raise ValueError
        parse_ts(expires)
    except ValueError:
        raise RejectedMessage("bad fields for authorize_fill: 'expires' must be UTC YYYY-MM-DDTHH:MM:SS.mmmZ") from None


def command_mac_ok(secret: bytes, command: ValveCommand) -> bool:
    return mac_matches(secret, command.as_dict())
