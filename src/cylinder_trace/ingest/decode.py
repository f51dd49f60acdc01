"""From a received MQTT message to what the valve handlers take (:mod:`cylinder_trace.app.valve_arrivals`):
an event to verify and store, a presence update, or a dead letter with its reason. Pure: no I/O, no
secrets."""

from __future__ import annotations

from dataclasses import dataclass

from ..app.valve_arrivals import Arrival, DeadLetter, Decoded, EventMessage, Presence
from ..mqtt.protocol import (
    STATUS_OFFLINE,
    STATUS_ONLINE,
    RejectedMessage,
    TopicKind,
    parse_event_message,
    parse_topic,
)

_EVENTS_SUFFIX = "/" + TopicKind.EVENTS.value


@dataclass(frozen=True, slots=True)
class Received(Arrival):
    """One message as paho handed it over, with what is needed to acknowledge it later."""

    mid: int
    qos: int
    #: ``time.monotonic()`` at receipt, for the lag metric
    received_mono: float
    #: which broker connection it came on: an acknowledgement only goes back on that connection
    generation: int


def decode(item: Arrival) -> Decoded:
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


def _event(item: Arrival) -> Decoded:
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
