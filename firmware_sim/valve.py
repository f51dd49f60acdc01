"""A smart angle valve (智能角阀) as a pure state machine: physical inputs and commands in, events out.

No network here: :mod:`firmware_sim.link` moves the outbox to the broker and commands back. What a
real valve keeps in flash is :class:`ValveState`, saved atomically to a small JSON file by
:class:`StateFile` whenever ``seq`` advances or a command is accepted, so a restart never reuses a
``seq`` nor an authorization.

Filling: the fill port is locked unless a signed, unexpired ``authorize_fill`` for a fresh
``auth_id`` was accepted; one authorization opens exactly one fill (``start_fill`` … ``finish_fill``),
delivering at most its ``max_mass_kg``. Content that rises any other way is ``refill_detected``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from cylinder_trace.mqtt.protocol import (
    CommandType,
    EventType,
    RejectedMessage,
    ValveCommand,
    build_event,
    command_mac_ok,
    commands_topic,
    parse_command_message,
    parse_ts,
)

Clock = Callable[[], datetime]
Message = dict[str, Any]

LOW_BATTERY_PCT: Final = 20.0
#: auth ids remembered (as in a small flash ring); older ones are long expired anyway
USED_AUTH_IDS_KEPT: Final = 256
#: events kept while offline; beyond this the oldest are dropped (the service sees a gap)
OUTBOX_LIMIT: Final = 10_000
STATE_FORMAT: Final = 1


def _grams(kg: float) -> float:
    """Down to whole grams: a measured mass never exceeds the limit it was held to. (``kg * 1000`` is
    rounded first so 1.005 kg is 1005 g, not 1004; a limit just under a whole gram, as 1.9999999999999991
    kg, then rounds up to it and is taken one gram down.)"""
    grams = math.floor(round(kg * 1000, 6))
    if grams / 1000 > kg:
        grams -= 1
    return grams / 1000


def system_clock() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: scenarios compress a week into a second with it."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@dataclass(slots=True)
class Authorization:
    auth_id: str
    station_id: str
    max_mass_kg: float
    expires: str  # protocol timestamp, as received


@dataclass(slots=True)
class ValveState:
    """Everything a valve keeps across reboots."""

    valve_id: str
    secret_hex: str
    #: the last ``seq`` used; the next event gets ``seq + 1``
    seq: int = 0
    capacity_kg: float = 14.9
    content_kg: float = 14.5
    battery_pct: float = 100.0
    is_open: bool = False
    authorization: Authorization | None = None
    #: the authorization of the fill in progress
    filling: Authorization | None = None
    used_auth_ids: list[str] = field(default_factory=list)
    #: signed events not yet acknowledged by the broker, in ``seq`` order
    outbox: list[Message] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ValveState:
        if obj.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown valve state format {obj.get('format')!r}")
        fields = {k: v for k, v in obj.items() if k != "format"}
        for key in ("authorization", "filling"):
            if fields.get(key) is not None:
                fields[key] = Authorization(**fields[key])
        return cls(**fields)


class StateFile:
    """The valve's flash: one JSON file, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> ValveState | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return ValveState.from_json(json.loads(text))

    def save(self, state: ValveState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(state.to_json(), f, ensure_ascii=False, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


class CommandVerdict(StrEnum):
    ACCEPTED = "accepted"
    MALFORMED = "malformed"
    BAD_MAC = "bad_mac"
    EXPIRED = "expired"
    REUSED_AUTH_ID = "reused_auth_id"


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    verdict: CommandVerdict
    detail: str = ""
    command: ValveCommand | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is CommandVerdict.ACCEPTED


class FillDenial(StrEnum):
    NOT_AUTHORIZED = "not_authorized"
    AUTHORIZATION_EXPIRED = "authorization_expired"
    WRONG_STATION = "wrong_station"


class Valve:
    """The valve's behaviour. Every method that changes state returns the events it produced."""

    def __init__(
        self,
        state: ValveState,
        *,
        clock: Clock = system_clock,
        skew: timedelta = timedelta(0),
        store: StateFile | None = None,
    ) -> None:
        self.state = state
        self.secret = bytes.fromhex(state.secret_hex)
        self.clock = clock
        self.skew = skew
        self.store = store
        self._dirty = False

    @classmethod
    def boot(
        cls,
        valve_id: str,
        secret: bytes,
        *,
        store: StateFile | None = None,
        clock: Clock = system_clock,
        skew: timedelta = timedelta(0),
        capacity_kg: float = 14.9,
        content_kg: float = 14.5,
    ) -> Valve:
        """Power on: resume from ``store`` if it holds this valve, else start new (``seq`` 0)."""
        state = store.load() if store else None
        if state is None:
            state = ValveState(valve_id, secret.hex(), capacity_kg=capacity_kg, content_kg=content_kg)
            if store:
                store.save(state)
        elif state.valve_id != valve_id or state.secret_hex != secret.hex():
            raise ValueError(f"state file {store.path if store else ''} belongs to another valve or secret")
        return cls(state, clock=clock, skew=skew, store=store)

    # --- what the valve knows -----------------------------------------------------------------------

    @property
    def valve_id(self) -> str:
        return self.state.valve_id

    @property
    def seq(self) -> int:
        return self.state.seq

    def now(self) -> datetime:
        """The valve's own clock: the injected clock plus its skew."""
        return self.clock() + self.skew

    @property
    def filling(self) -> bool:
        return self.state.filling is not None

    @property
    def locked(self) -> bool:
        """Whether the fill port refuses a fill started now."""
        auth = self.state.authorization
        return auth is None or self._expired(auth)

    @property
    def level_pct(self) -> float:
        return round(100.0 * self.state.content_kg / self.state.capacity_kg, 1)

    def pending(self) -> list[Message]:
        """Events not yet acknowledged by the broker, in ``seq`` order."""
        return list(self.state.outbox)

    def acknowledge(self, seq: int) -> None:
        """The broker has the event ``seq``. Saved lazily: a lost ack only causes a resend."""
        outbox = self.state.outbox
        if outbox and outbox[0]["seq"] == seq:  # acknowledgements mostly arrive in order
            del outbox[0]
        else:
            kept = [m for m in outbox if m["seq"] != seq]
            if len(kept) == len(outbox):
                return
            self.state.outbox = kept
        self._dirty = True

    def checkpoint(self) -> None:
        """Save pending acknowledgements."""
        if self._dirty:
            self._save()

    # --- the customer and the world -----------------------------------------------------------------

    def open(self) -> list[Message]:
        if self.state.is_open:
            return []
        self.state.is_open = True
        return [self._emit(EventType.OPENED)]

    def close(self) -> list[Message]:
        if not self.state.is_open:
            return []
        self.state.is_open = False
        return [self._emit(EventType.CLOSED)]

    def use_gas(self, kg: float) -> list[Message]:
        """Gas drawn by the stove: only while open. No event (the level shows in heartbeats)."""
        if self.state.is_open and kg > 0:
            self.state.content_kg = round(max(0.0, self.state.content_kg - kg), 3)
        return []

    def heartbeat(self, rssi: int = -67) -> list[Message]:
        data = {"battery_pct": round(self.state.battery_pct, 1), "rssi": rssi, "level_pct": self.level_pct}
        return [self._emit(EventType.HEARTBEAT, data)]

    def set_battery(self, pct: float) -> list[Message]:
        """A new battery reading; crossing below the low mark reports ``low_battery`` once."""
        pct = max(0.0, min(100.0, pct))
        was_low = self.state.battery_pct < LOW_BATTERY_PCT
        self.state.battery_pct = pct
        if pct < LOW_BATTERY_PCT and not was_low:
            return [self._emit(EventType.LOW_BATTERY, {"battery_pct": round(pct, 1)})]
        return []

    def tamper(self, kind: str) -> list[Message]:
        return [self._emit(EventType.TAMPER, {"kind": kind})]

    def leak(self, ppm: float) -> list[Message]:
        return [self._emit(EventType.LEAK, {"ppm": ppm})]

    def bypass_fill(self, delta_kg: float) -> list[Message]:
        """Gas forced in around the locked fill port (decanting): content rises, reported at once."""
        delta = _grams(min(delta_kg, self.state.capacity_kg - self.state.content_kg))
        if delta <= 0:
            return []
        self.state.content_kg = round(self.state.content_kg + delta, 3)
        return [self._emit(EventType.REFILL_DETECTED, {"delta_kg": delta})]

    # --- filling ------------------------------------------------------------------------------------

    def start_fill(self, station_id: str) -> list[Message]:
        """A filling gun is connected: unlocks under a valid authorization for this station, else denies."""
        if self.state.filling is not None:
            return []
        auth = self.state.authorization
        if auth is None:
            return [self._emit(EventType.FILL_DENIED, {"reason": FillDenial.NOT_AUTHORIZED.value})]
        if self._expired(auth):
            self.state.authorization = None
            return [self._emit(EventType.FILL_DENIED, {"reason": FillDenial.AUTHORIZATION_EXPIRED.value})]
        if auth.station_id != station_id:
            return [self._emit(EventType.FILL_DENIED, {"reason": FillDenial.WRONG_STATION.value})]
        self.state.authorization = None
        self.state.filling = auth
        return [self._emit(EventType.FILL_STARTED, {"auth_id": auth.auth_id})]

    def finish_fill(self, mass_kg: float) -> list[Message]:
        """The gun is removed: the valve let in at most the authorized mass and what the cylinder holds."""
        auth = self.state.filling
        if auth is None:
            return []
        delivered = _grams(max(0.0, min(mass_kg, auth.max_mass_kg, self.state.capacity_kg - self.state.content_kg)))
        self.state.content_kg = round(self.state.content_kg + delivered, 3)
        self.state.filling = None
        return [self._emit(EventType.FILL_COMPLETED, {"auth_id": auth.auth_id, "mass_kg": delivered})]

    # --- commands -----------------------------------------------------------------------------------

    def handle_command(self, payload: bytes, topic: str | None = None) -> CommandOutcome:
        """Obey a command only if well formed, correctly signed, unexpired and not seen before."""
        try:
            command = parse_command_message(topic or commands_topic(self.valve_id), payload)
        except RejectedMessage as exc:
            return CommandOutcome(CommandVerdict.MALFORMED, exc.reason)
        if not command_mac_ok(self.secret, command):
            return CommandOutcome(CommandVerdict.BAD_MAC, "mac does not match", command)
        if command.cmd is CommandType.LOCK:
            self.state.authorization = None
            self._save()
            return CommandOutcome(CommandVerdict.ACCEPTED, f"locked: {command.fields['reason']}", command)
        auth = Authorization(
            auth_id=command.fields["auth_id"],
            station_id=command.fields["station_id"],
            max_mass_kg=float(command.fields["max_mass_kg"]),
            expires=command.fields["expires"],
        )
        if self._expired(auth):
            return CommandOutcome(CommandVerdict.EXPIRED, f"expired at {auth.expires}", command)
        if auth.auth_id in self.state.used_auth_ids:
            reason = f"auth_id {auth.auth_id} seen before"
            return CommandOutcome(CommandVerdict.REUSED_AUTH_ID, reason, command)
        self.state.used_auth_ids = [*self.state.used_auth_ids, auth.auth_id][-USED_AUTH_IDS_KEPT:]
        self.state.authorization = auth  # a newer authorization replaces a pending one
        self._save()
        return CommandOutcome(CommandVerdict.ACCEPTED, f"fill authorized until {auth.expires}", command)

    # --- internals ----------------------------------------------------------------------------------

    def _expired(self, auth: Authorization) -> bool:
        return self.now() >= parse_ts(auth.expires)

    def _emit(self, event_type: EventType, data: Mapping[str, Any] | None = None) -> Message:
        self.state.seq += 1
        message = build_event(self.secret, self.valve_id, self.state.seq, self.now(), event_type, data)
        self.state.outbox.append(message)
        del self.state.outbox[:-OUTBOX_LIMIT]
        self._save()
        return message

    def _save(self) -> None:
        if self.store is not None:
            self.store.save(self.state)
        self._dirty = False
