"""Scripted valve behaviour over a real broker, one scenario per situation the service must handle.

Scenarios that span days run on a :class:`~firmware_sim.valve.ManualClock` (a week of events is sent
in a second, each stamped with its simulated time); the others use the real clock, plus a skew for
``clock-skew``. A valve's state file (``--state-dir``) keeps its ``seq`` across runs, so running a
scenario twice continues the valve's history instead of replaying it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cylinder_trace.mqtt.protocol import sign_message
from firmware_sim.link import LinkError, MqttProtocol, ValveLink
from firmware_sim.registry import DEFAULT_SEED, derive_secret
from firmware_sim.valve import Clock, ManualClock, Message, StateFile, Valve, system_clock

Log = Callable[[str], None]


class ScenarioFailed(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class ScenarioOptions:
    valve_id: str = "V0000001"
    seed: str = DEFAULT_SEED
    url: str = "mqtt://127.0.0.1:18830"
    protocol: MqttProtocol = MqttProtocol.V311
    #: where the valve keeps its state between runs; ``None``: in memory only
    state_dir: Path | None = Path("var/valves")
    #: authorized-fill: how long to wait for the command
    timeout_s: float = 60.0
    #: authorized-fill: mass the station tries to put in; illegal-decant: mass forced in
    mass_kg: float = 12.5
    #: duplicate-storm: how many times the same event is published again
    repeats: int = 50
    #: clock-skew: the valve clock's error
    skew: timedelta = timedelta(days=-3)


@dataclass(slots=True)
class ScenarioResult:
    scenario: str
    valve_id: str
    #: events the valve produced in this run, in ``seq`` order
    emitted: list[Message] = field(default_factory=list)
    #: publishes outside the valve's outbox (duplicate-storm)
    raw_published: int = 0
    raw_acked: int = 0
    #: every command received: verdict and detail
    commands: list[dict[str, str]] = field(default_factory=list)
    #: whether the broker acknowledged every event before the valve went away
    all_acked: bool = False

    def summary(self) -> dict[str, Any]:
        seqs = [int(m["seq"]) for m in self.emitted]
        return {
            "scenario": self.scenario,
            "valve_id": self.valve_id,
            "events": len(self.emitted),
            "first_seq": seqs[0] if seqs else None,
            "last_seq": seqs[-1] if seqs else None,
            "types": [m["type"] for m in self.emitted],
            "raw_published": self.raw_published,
            "raw_acked": self.raw_acked,
            "commands": self.commands,
            "all_acked": self.all_acked,
        }


@dataclass(slots=True)
class Session:
    valve: Valve
    link: ValveLink
    clock: ManualClock | None
    options: ScenarioOptions
    log: Log
    result: ScenarioResult

    def emit(self, messages: list[Message]) -> None:
        """Record what the valve produced and move it towards the broker."""
        self.result.emitted.extend(messages)
        self.link.flush()
        self.link.pump(0)

    def advance(self, delta: timedelta) -> None:
        assert self.clock is not None, "this scenario runs on the real clock"
        self.clock.advance(delta)
        self.link.pump(0)

    def drain(self) -> None:
        if not self.link.drain(timeout=30):
            raise ScenarioFailed(f"broker did not acknowledge {len(self.valve.pending())} events")


# --- the scenarios ---------------------------------------------------------------------------------


def household_week(s: Session) -> None:
    """A week at home: heartbeats every 6 h, cooking three times a day, the level and battery dropping."""
    v = s.valve
    for day in range(7):
        for hour in range(0, 24):
            if hour % 6 == 0:
                s.emit(v.heartbeat(rssi=-60 - day))
            if hour in (7, 12, 18):
                s.emit(v.open())
                s.advance(timedelta(minutes=25))
                v.use_gas(0.15)
                s.emit(v.close())
                s.advance(timedelta(minutes=35))
            else:
                s.advance(timedelta(hours=1))
        s.emit(v.set_battery(v.state.battery_pct - 1.0))
    s.log(f"a week done: level {v.level_pct} %, battery {v.state.battery_pct} %")


def authorized_fill(s: Session) -> None:
    """At a station: wait for the service's authorize_fill, then fill under it."""
    v = s.valve
    s.emit(v.heartbeat())
    s.link.drain()
    s.log(f"waiting up to {s.options.timeout_s:g}s for authorize_fill on ct/v1/valves/{v.valve_id}/commands")
    if not s.link.wait_until(lambda: not v.locked, s.options.timeout_s):
        raise ScenarioFailed("no valid authorize_fill arrived")
    auth = v.state.authorization
    assert auth is not None
    s.log(f"authorized: {auth.auth_id} at {auth.station_id}, up to {auth.max_mass_kg} kg")
    s.emit(v.start_fill(auth.station_id))
    s.link.pump(0.1)
    s.emit(v.finish_fill(s.options.mass_kg))
    s.emit(v.heartbeat())


def illegal_decant(s: Session) -> None:
    """A fill attempt without authorization (denied), then gas forced in around the lock (非法倒气)."""
    v = s.valve
    s.emit(v.heartbeat())
    s.emit(v.start_fill("UNAUTHORIZED-POINT"))
    room = v.state.capacity_kg - v.state.content_kg
    if room < s.options.mass_kg:  # make room the way a customer does: by cooking
        s.emit(v.open())
        v.use_gas(s.options.mass_kg - room)
        s.emit(v.close())
    s.emit(v.bypass_fill(s.options.mass_kg))
    s.emit(v.heartbeat())


def tamper(s: Session) -> None:
    """The case is opened, then the valve is taken off the cylinder."""
    v = s.valve
    s.emit(v.heartbeat())
    s.emit(v.tamper("case_opened"))
    s.emit(v.tamper("valve_removed"))


def leak(s: Session) -> None:
    """Gas detected around the open valve, rising, until the customer closes it."""
    v = s.valve
    s.emit(v.heartbeat())
    s.emit(v.open())
    s.emit(v.leak(350))
    s.emit(v.leak(2500))
    s.emit(v.close())


def offline_day(s: Session) -> None:
    """The network goes for a day: events pile up in the valve, then go out in seq order."""
    v = s.valve
    s.emit(v.heartbeat())
    s.drain()
    s.link.drop()
    s.log("network lost")
    for hour in range(24):
        s.advance(timedelta(hours=1))
        s.emit(v.heartbeat(rssi=-110))
        if hour in (7, 12, 18):
            s.emit(v.open())
            v.use_gas(0.15)
            s.emit(v.close())
    s.log(f"network back with {len(v.pending())} events buffered")
    s.link.connect()


def duplicate_storm(s: Session) -> None:
    """The same event published again many times, then once more with changed content (a replay)."""
    v = s.valve
    s.emit(v.heartbeat())
    s.emit(v.open())
    s.emit(v.close())
    s.drain()
    original = s.result.emitted[1]
    for _ in range(s.options.repeats):
        s.link.publish_raw(original)
    s.result.raw_published += s.options.repeats
    # A replay attempt: same valve and seq, other content, correctly signed. Only the comparison with
    # what was stored first can tell it from a duplicate.
    heartbeat = s.result.emitted[0]
    level = 100.0 if heartbeat["data"]["level_pct"] != 100.0 else 0.0
    forged = sign_message(v.secret, {**heartbeat, "data": {**heartbeat["data"], "level_pct": level}})
    s.link.publish_raw(forged)
    s.result.raw_published += 1


def clock_skew(s: Session) -> None:
    """A valve whose clock is off (default three days behind): its ts disagree with receive time."""
    v = s.valve
    s.log(f"valve clock {v.now().isoformat()} (skew {v.skew})")
    s.emit(v.heartbeat())
    s.emit(v.open())
    v.use_gas(0.1)
    s.emit(v.close())
    s.emit(v.heartbeat())


@dataclass(frozen=True, slots=True)
class Scenario:
    run: Callable[[Session], None]
    #: simulated time the scenario covers, ending now; ``None``: the real clock
    span: timedelta | None = None
    #: a new valve's content and battery for this scenario
    content_kg: float = 14.5
    battery_pct: float = 100.0

    @property
    def description(self) -> str:
        return (self.run.__doc__ or "").strip()


SCENARIOS: dict[str, Scenario] = {
    "household-week": Scenario(household_week, span=timedelta(days=7), battery_pct=23.5),
    "authorized-fill": Scenario(authorized_fill, content_kg=1.5),
    "illegal-decant": Scenario(illegal_decant, content_kg=1.5),
    "tamper": Scenario(tamper),
    "leak": Scenario(leak),
    "offline-day": Scenario(offline_day, span=timedelta(days=1)),
    "duplicate-storm": Scenario(duplicate_storm),
    "clock-skew": Scenario(clock_skew),
}


def boot_valve(options: ScenarioOptions, scenario: Scenario, clock: Clock, skew: timedelta) -> Valve:
    store = StateFile(options.state_dir / f"{options.valve_id}.json") if options.state_dir else None
    is_new = store is None or store.load() is None
    valve = Valve.boot(
        options.valve_id,
        derive_secret(options.seed, options.valve_id),
        store=store,
        clock=clock,
        skew=skew,
        content_kg=scenario.content_kg,
    )
    if is_new:
        valve.state.battery_pct = scenario.battery_pct
    return valve


def run_scenario(
    name: str,
    options: ScenarioOptions,
    *,
    log: Log = lambda _: None,
    hold: Callable[[], bool] | None = None,
) -> ScenarioResult:
    """Run scenario ``name`` against the broker at ``options.url``.

    With ``hold``, stay connected afterwards (reconnecting if need be) until ``hold()`` is false.
    """
    scenario = SCENARIOS[name]
    manual = ManualClock(datetime.now(UTC) - scenario.span) if scenario.span else None
    clock: Clock = manual if manual is not None else system_clock
    skew = options.skew if name == "clock-skew" else timedelta(0)
    valve = boot_valve(options, scenario, clock, skew)
    link = ValveLink(valve, options.url, options.protocol)
    result = ScenarioResult(name, valve.valve_id)
    session = Session(valve, link, manual, options, log, result)
    if valve.pending():
        log(f"{len(valve.pending())} events left from an earlier run go first")
    link.connect()
    log(f"{valve.valve_id} connected to {options.url} (MQTT {options.protocol.value}), seq {valve.seq}")
    try:
        scenario.run(session)
        session.drain()
        result.all_acked = True
        while hold is not None and hold():
            if not link.connected:
                _reconnect(link, log)
            link.pump(0.2)
    finally:
        result.raw_acked = link.raw_acked
        result.commands = [{"verdict": c.verdict.value, "detail": c.detail} for c in link.commands]
        link.disconnect()
    log(f"{name}: {len(result.emitted)} events, last seq {valve.seq}")
    return result


def _reconnect(link: ValveLink, log: Log) -> None:
    try:
        link.connect()
        log("reconnected")
    except LinkError as exc:  # the broker may be down for a while: keep trying
        log(f"reconnect failed: {exc}")
        time.sleep(1.0)
