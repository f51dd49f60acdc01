"""A batch of valve messages: verify, then store everything in one transaction.

What a batch does with each message:

* an event message that parses and carries a valid MAC of a registered valve is stored once per
  ``(valve_id, seq)``; a repeat with the same content is dropped, one with other content is a replay
  (dead-lettered and counted); a newly stored one updates the valve's device status and, when
  lifecycle-relevant, is appended to the fitted cylinder's history with the valve rules applied
  (:mod:`cylinder_trace.app.valve_lifecycle`);
* a status message (``online``/``offline``, retained and as Last Will) updates the valve's presence;
* anything else goes to the dead-letter table with its reason.

:func:`verify` needs the valve secrets (I/O, before the transaction); :func:`write_batch` is the
transaction's body and may run more than once (the unit of work retries a database that does not
answer), so it changes nothing outside the database. A door calls :func:`store_batch`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain.valves import Report, summarize
from ..mqtt.protocol import verify_mac
from ..store.valve_messages import DeadLetterRow, MessageRow, insert_dead_letters, insert_messages, stored_digests
from .device_status import latest_presence, record_statuses
from .tx import Tx
from .unit_of_work import UnitOfWork
from .valve_arrivals import MAX_DEAD_LETTER_BYTES, Arrival, DeadLetter, Decoded, EventMessage, Presence
from .valve_keys import ValveKey, ValveKeys
from .valve_lifecycle import record_lifecycle


@dataclass
class Verified:
    """A batch after decoding and MAC checks, before the transaction."""

    events: list[EventMessage] = field(default_factory=list)
    presence: list[Presence] = field(default_factory=list)
    rejected: list[DeadLetter] = field(default_factory=list)
    #: repeats of a ``(valve_id, seq)`` earlier in the same batch with the same content
    repeats: int = 0


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    stored: int
    duplicates: int
    presence: int
    dead_letters: list[DeadLetter]
    appended: int
    unfitted: int
    #: the valves' clocks of the messages stored
    event_times: tuple[datetime, ...] = ()

    @property
    def replays(self) -> int:
        return sum(1 for d in self.dead_letters if d.kind == "replay")


async def verify(decoded: Sequence[Decoded], keys: ValveKeys) -> Verified:
    out = Verified()
    candidates = [d for d in decoded if isinstance(d, EventMessage)]
    presence = [d for d in decoded if isinstance(d, Presence)]
    out.rejected.extend(d for d in decoded if isinstance(d, DeadLetter))
    known = await keys.get({e.message.valve_id for e in candidates} | {p.valve_id for p in presence})
    suspect = _check_macs(candidates, known, out)
    if suspect:  # the secret may have been changed since it was cached: read it again before refusing
        fresh = await keys.get({e.message.valve_id for e in suspect}, fresh=True)
        out.rejected.extend(DeadLetter(e.arrival, "bad_mac", "bad mac: does not match the valve's secret",
                                       e.message.valve_id) for e in _check_macs(suspect, fresh, out))
    for p in presence:
        if p.valve_id in known:
            out.presence.append(p)
        elif not p.arrival.retain:  # a retained copy was dead-lettered when it was first published
            out.rejected.append(_unknown_valve(p.arrival, p.valve_id))
    out.events, replays, out.repeats = _first_of_each_key(out.events)
    out.rejected.extend(replays)
    return out


def _check_macs(candidates: Sequence[EventMessage], keys: Mapping[str, ValveKey], out: Verified
                ) -> list[EventMessage]:
    """Messages whose MAC matches their valve's secret go to ``out.events``, those of unknown valves to
    ``out.rejected``; the others are returned."""
    mismatched: list[EventMessage] = []
    for e in candidates:
        key = keys.get(e.message.valve_id)
        if key is None:
            out.rejected.append(_unknown_valve(e.arrival, e.message.valve_id))
        elif verify_mac(key.secret, e.message):
            out.events.append(e)
        else:
            mismatched.append(e)
    return mismatched


def _unknown_valve(arrival: Arrival, valve_id: str) -> DeadLetter:
    return DeadLetter(arrival, "unknown_valve", f"unknown valve {valve_id!r}: not in the valve registry", valve_id)


def _replay(e: EventMessage, where: str) -> DeadLetter:
    return DeadLetter(e.arrival, "replay", f"replay: ({e.message.valve_id}, {e.message.seq}) {where} with "
                      "different content", e.message.valve_id)


def _first_of_each_key(events: list[EventMessage]) -> tuple[list[EventMessage], list[DeadLetter], int]:
    first: dict[tuple[str, int], EventMessage] = {}
    replays: list[DeadLetter] = []
    repeats = 0
    for e in events:
        earlier = first.get(e.key)
        if earlier is None:
            first[e.key] = e
        elif earlier.digest == e.digest:
            repeats += 1
        else:
            replays.append(_replay(e, "arrived earlier in this batch"))
    return list(first.values()), replays, repeats


def _message_row(e: EventMessage) -> MessageRow:
    m = e.message
    return MessageRow(m.valve_id, m.seq, m.type.value, m.ts, e.arrival.received_at, e.digest, e.arrival.payload)


def _dead_letter_row(d: DeadLetter) -> DeadLetterRow:
    a = d.arrival
    return DeadLetterRow(a.received_at, a.topic, d.kind, d.kept_reason(), d.valve_id, a.payload[:MAX_DEAD_LETTER_BYTES])


def report_of(e: EventMessage) -> Report:
    """What a stored message tells about its valve's device status."""
    data = e.message.data
    return Report(
        seq=e.message.seq, type=e.message.type.value, received_at=e.arrival.received_at,
        battery_pct=_number(data.get("battery_pct")), rssi=_number(data.get("rssi")),
        level_pct=_number(data.get("level_pct")),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


async def write_batch(tx: Tx, batch: Verified) -> BatchOutcome:
    conn = tx.conn
    stored_keys = await insert_messages(conn, [_message_row(e) for e in sorted(batch.events, key=lambda e: e.key)])
    stored = [e for e in batch.events if e.key in stored_keys]
    conflicting = [e for e in batch.events if e.key not in stored_keys]
    digests = await stored_digests(conn, (e.key for e in conflicting))
    letters = list(batch.rejected)
    duplicates = batch.repeats
    for e in conflicting:
        if digests.get(e.key) == e.digest:
            duplicates += 1
        else:
            letters.append(_replay(e, "is already stored"))
    await insert_dead_letters(conn, [_dead_letter_row(d) for d in letters])

    reports: dict[str, list[Report]] = defaultdict(list)
    for e in stored:
        reports[e.message.valve_id].append(report_of(e))
    await record_statuses(
        conn, {valve_id: summarize(valve_id, rs) for valve_id, rs in reports.items()},
        latest_presence((p.valve_id, p.online, p.arrival.received_at) for p in batch.presence))

    lifecycle = await record_lifecycle(tx, stored)
    return BatchOutcome(
        stored=len(stored), duplicates=duplicates, presence=len(batch.presence), dead_letters=letters,
        appended=lifecycle.appended, unfitted=lifecycle.unfitted, event_times=tuple(e.message.ts for e in stored),
    )


async def store_batch(uow: UnitOfWork, batch: Verified) -> BatchOutcome:
    """Store a verified batch in one transaction of its own; returns once it is committed."""
    async def handler(tx: Tx) -> BatchOutcome:
        return await write_batch(tx, batch)

    return await uow.write(handler)


async def store_dead_letters(uow: UnitOfWork, letters: Sequence[DeadLetter]) -> None:
    """Park ``letters`` in the dead-letter table (committed when this returns)."""
    async def handler(tx: Tx) -> None:
        await insert_dead_letters(tx.conn, [_dead_letter_row(d) for d in letters])

    await uow.write(handler)
