"""What a door hands the valve handlers: messages as they arrived, each already read as an event to
verify and store, a presence update, or a dead letter with its reason.

The MQTT door (``ingest/``) makes these from what the broker delivers; the handlers (``valve_batches``)
take nothing else, so they know no transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ..mqtt.protocol import ValveMessage

#: at most this much of a rejected payload is kept in the dead-letter table
MAX_DEAD_LETTER_BYTES: Final = 65536
#: at most this much of a reason
MAX_REASON_CHARS: Final = 1000


@dataclass(frozen=True, slots=True)
class Arrival:
    """One message as it arrived."""

    topic: str
    payload: bytes
    #: a retained copy (the broker's, not sent just now)
    retain: bool
    received_at: datetime


@dataclass(frozen=True, slots=True)
class EventMessage:
    arrival: Arrival
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
    arrival: Arrival
    valve_id: str
    online: bool


@dataclass(frozen=True, slots=True)
class DeadLetter:
    arrival: Arrival
    #: a short category, the label of the dead-letter metric: a ``RejectKind`` of the protocol, or
    #: ``bad_status``, ``unknown_valve``, ``replay``, ``storage_error``
    kind: str
    reason: str
    valve_id: str | None = None

    def kept_reason(self) -> str:
        """The reason as the dead-letter table keeps it (shortened; says when the payload was cut)."""
        reason = self.reason[:MAX_REASON_CHARS]
        size = len(self.arrival.payload)
        if size > MAX_DEAD_LETTER_BYTES:
            reason += f" (payload of {size} bytes kept up to {MAX_DEAD_LETTER_BYTES})"
        return reason


Decoded = EventMessage | Presence | DeadLetter
