"""From a received MQTT message to what the ingestor does with it: an event to verify and store, a
presence update, or a dead letter with its reason. Pure: no I/O, no secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ..mqtt.protocol import (
    STATUS_OFFLINE,
    STATUS_ONLINE,
    RejectedMessage,
    TopicKind,
    ValveMessage,
    parse_event_message,
    parse_topic,
)

#: at most this much of a rejected payload is kept in the dead-letter table
MAX_DEAD_LETTER_BYTES: Final = 65536
_EVENTS_SUFFIX: Final = "/" + TopicKind.EVENTS.value


@dataclass(frozen=True, slots=True)
class Received:
    """One message as paho handed it over, with what is needed to acknowledge it later."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    received_at: datetime
    #: ``time.monotonic()`` at receipt, for the lag metric
    received_mono: float
    #: which broker connection it came on: an acknowledgement only goes back on that connection
    generation: int


@dataclass(frozen=True, slots=True)
class EventMessage:
    item: Received
    message: ValveMessage

    @property
    def digest(self) -> str:
        """What tells two deliveries of one ``(valve_id, seq)`` apart: the MAC, an HMAC over the canonical
        form of everything else, so (once verified, under the valve's one secret) equal iff the content is."""
        return self.message.mac

    @property
    def key(self) -> tuple[str, int]:
        return self.message.valve_id, self.message.seq


@dataclass(frozen=True, slots=True)
class Presence:
    item: Received
    valve_id: str
    online: bool


@dataclass(frozen=True, slots=True)
class DeadLetter:
    item: Received
    #: a short category, the label of the dead-letter metric: a ``RejectKind`` of the protocol, or
    #: ``bad_status``, ``unknown_valve``, ``replay``, ``storage_error``
    kind: str
    reason: str
    valve_id: str | None = None


Decoded = EventMessage | Presence | DeadLetter

def decode(item: Received) -> Decoded:
    if item.topic.endswith(_EVENTS_SUFFIX):  # the hot path: parse_event_message checks the topic itself
        return _event(item)
    try:
        topic = parse_topic(item.topic)
    except RejectedMessage as exc:
        return DeadLetter(item, exc.kind.value, exc.reason)
    if topic.kind is TopicKind.STATUS:
        if item.payload in (STATUS_ONLINE, STATUS_OFFLINE):
            return Presence(item, topic.valve_id, item.payload == STATUS_ONLINE)
        return DeadLetter(item, "bad_status", "a status message must be 'online' or 'offline'", topic.valve_id)
    return DeadLetter(item, "bad_topic", f"the service does not take messages on {item.topic!r}", topic.valve_id)


def _event(item: Received) -> Decoded:
    try:
        message = parse_event_message(item.topic, item.payload)
    except RejectedMessage as exc:
        return DeadLetter(item, exc.kind.value, exc.reason, _topic_valve_id(item.topic))
    except Exception as exc:  # a parser bug must park the message, not stop the stream
        return DeadLetter(item, "schema", f"unreadable: {type(exc).__name__}", _topic_valve_id(item.topic))
    return EventMessage(item, message)


def _topic_valve_id(topic: str) -> str | None:
    try:
        return parse_topic(topic).valve_id
    except RejectedMessage:
        return None
