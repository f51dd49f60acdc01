"""Whatever happens to a valve — commands good and bad, fills, decanting, reboots — its ``seq`` runs
1, 2, 3, … without a gap or a repeat, and gas only goes in through the fill port under an
authorization that was valid when the fill started, one fill per authorization."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from cylinder_trace.mqtt.protocol import (
    TAMPER_KINDS,
    authorize_fill_command,
    encode,
    events_topic,
    lock_command,
    parse_event_message,
    verify_mac,
)
from firmware_sim.valve import ManualClock, Message, StateFile, Valve

SECRET = bytes(range(32))
VALVE = "V-prop"
AUTH_IDS = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(4)]

Op = tuple[Any, ...]
stations = st.sampled_from(["S1", "S1", "S1", "S2"])
authorize = st.tuples(
    st.just("authorize"),
    stations,
    st.integers(-60, 3600),  # expires, seconds from the valve's now
    st.sampled_from(AUTH_IDS),
    st.sampled_from([True, True, True, False]),  # signed with the right secret
    st.floats(0.5, 15),
)
start_fill = st.tuples(st.just("start_fill"), stations)
finish_fill = st.tuples(st.just("finish_fill"), st.floats(0, 20))
# authorize then fill at the same station: a fill that usually succeeds, so most scripts have some
likely_fill = st.builds(
    lambda station, auth_id, max_kg, mass: (
        "fill",
        ("authorize", station, 900, auth_id, True, max_kg),
        ("start_fill", station),
        ("finish_fill", mass),
    ),
    stations,
    st.sampled_from(AUTH_IDS),
    st.floats(0.5, 15),
    st.floats(0, 20),
)
ops = st.one_of(
    st.tuples(st.just("open")),
    st.tuples(st.just("close")),
    st.tuples(st.just("use_gas"), st.floats(0, 5)),
    st.tuples(st.just("heartbeat")),
    st.tuples(st.just("battery"), st.floats(0, 100)),
    start_fill,
    finish_fill,
    st.tuples(st.just("bypass"), st.floats(0.001, 10)),
    st.tuples(st.just("tamper"), st.sampled_from(sorted(TAMPER_KINDS))),
    st.tuples(st.just("leak"), st.integers(0, 10_000)),
    authorize,
    st.tuples(st.just("lock"), st.booleans()),
    st.tuples(st.just("advance"), st.integers(0, 3600)),
    st.tuples(st.just("ack"), st.integers(1, 40)),
    st.tuples(st.just("restart")),
    likely_fill,
    likely_fill,
)


def boot(directory: Path, clock: ManualClock) -> Valve:
    return Valve.boot(VALVE, SECRET, store=StateFile(directory / "valve.json"), clock=clock, content_kg=2.0)


def apply(valve: Valve, op: Op) -> list[Message]:
    name, *args = op
    if name == "authorize":
        station, expires_s, auth_id, good_secret, max_kg = args
        cmd = authorize_fill_command(
            SECRET if good_secret else bytes(32),
            VALVE,
            auth_id=auth_id,
            station_id=station,
            max_mass_kg=max_kg,
            expires=valve.now() + timedelta(seconds=expires_s),
        )
        valve.handle_command(encode(cmd))
        return []
    if name == "lock":
        valve.handle_command(encode(lock_command(SECRET if args[0] else bytes(32), VALVE, reason="seized")))
        return []
    if name == "ack":
        valve.acknowledge(args[0])
        return []
    simple = {
        "open": lambda: valve.open(),
        "close": lambda: valve.close(),
        "use_gas": lambda: valve.use_gas(args[0]),
        "heartbeat": lambda: valve.heartbeat(),
        "battery": lambda: valve.set_battery(args[0]),
        "start_fill": lambda: valve.start_fill(args[0]),
        "finish_fill": lambda: valve.finish_fill(args[0]),
        "bypass": lambda: valve.bypass_fill(args[0]),
        "tamper": lambda: valve.tamper(args[0]),
        "leak": lambda: valve.leak(args[0]),
    }
    return simple[name]()


def check_step(valve: Valve, op: Op, started_auth_ids: list[str]) -> list[Message]:
    """Apply one operation and check what it did; the events it produced."""
    locked_before = valve.locked
    filling_before = valve.state.filling
    content_before = valve.state.content_kg
    new = apply(valve, op)
    kinds = [m["type"] for m in new]

    if "fill_started" in kinds:
        assert not locked_before, "a fill started while the valve was locked"
        started_auth_ids.append(new[0]["data"]["auth_id"])
    if locked_before and op[0] == "start_fill":
        assert kinds in ([], ["fill_denied"])
    if valve.state.content_kg > content_before:
        # only a fill under way or decanting (which is reported) adds gas
        assert kinds in (["fill_completed"], ["refill_detected"])
        added = round(valve.state.content_kg - content_before, 3)
        if kinds == ["fill_completed"]:
            assert filling_before is not None
            assert new[0]["data"] == {"auth_id": filling_before.auth_id, "mass_kg": added}
            assert added <= filling_before.max_mass_kg
        else:
            assert new[0]["data"]["delta_kg"] == added
    pending = [m["seq"] for m in valve.pending()]
    assert pending == sorted(set(pending))

    return new


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, max_size=50))
def test_seq_runs_by_one_and_gas_only_enters_under_a_valid_authorization(script: list[Op]) -> None:
    clock = ManualClock(datetime(2026, 11, 28, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        valve = boot(directory, clock)
        emitted: list[Message] = []
        started_auth_ids: list[str] = []
        for op in script:
            if op[0] == "advance":
                clock.advance(timedelta(seconds=op[1]))
                continue
            if op[0] == "restart":
                valve = boot(directory, clock)
                continue
            steps = list(op[1:]) if op[0] == "fill" else [op]
            for step in steps:
                emitted += check_step(valve, step, started_auth_ids)

        event("with a fill" if started_auth_ids else "without a fill")
        assert [m["seq"] for m in emitted] == list(range(1, len(emitted) + 1))
        assert valve.seq == len(emitted)
        assert len(started_auth_ids) == len(set(started_auth_ids)), "an authorization opened two fills"
        for message in emitted:
            assert verify_mac(SECRET, parse_event_message(events_topic(VALVE), encode(message)))


@pytest.mark.parametrize("kg", [1.9999999999999991, 1.005, 0.3, 2.0, 0.0, 14.5, 49.49999999999999])
def test_a_fill_in_grams_never_exceeds_its_limit(kg: float) -> None:
    from firmware_sim.valve import _grams

    grams = _grams(kg)
    assert grams <= kg and kg - grams < 0.001 + 1e-9
