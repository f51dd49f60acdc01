from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from cylinder_trace.mqtt.protocol import (
    EventType,
    authorize_fill_command,
    commands_topic,
    encode,
    events_topic,
    lock_command,
    parse_event_message,
    verify_mac,
)
from firmware_sim.valve import (
    LOW_BATTERY_PCT,
    CommandVerdict,
    ManualClock,
    Message,
    StateFile,
    Valve,
)

SECRET = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
VALVE = "V0000001"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def new_valve(tmp_path: Path | None = None, *, content_kg: float = 1.5, clock: ManualClock | None = None) -> Valve:
    store = StateFile(tmp_path / f"{VALVE}.json") if tmp_path else None
    return Valve.boot(VALVE, SECRET, store=store, clock=clock or ManualClock(T0), content_kg=content_kg)


def authorize(
    valve: Valve,
    *,
    secret: bytes = SECRET,
    auth_id: str | None = None,
    station_id: str = "ST-01",
    max_mass_kg: float = 14.9,
    expires_in: timedelta = timedelta(minutes=15),
) -> CommandVerdict:
    cmd = authorize_fill_command(
        secret,
        VALVE,
        auth_id=auth_id or str(uuid4()),
        station_id=station_id,
        max_mass_kg=max_mass_kg,
        expires=valve.now() + expires_in,
    )
    return valve.handle_command(encode(cmd), commands_topic(VALVE)).verdict


def types(messages: list[Message]) -> list[str]:
    return [m["type"] for m in messages]


def test_the_protocol_test_vector_from_the_valve_side() -> None:
    """The valve's own fill_completed for the example in PROTOCOL.md carries exactly its mac."""
    valve = Valve.boot(VALVE, SECRET, clock=ManualClock(T0), content_kg=0.0, capacity_kg=14.9)
    valve.state.seq = 40
    auth_id = "3f2b8c1e-7d4a-4b6e-9c2d-1a5e8f7b6c3d"
    assert authorize(valve, auth_id=auth_id) is CommandVerdict.ACCEPTED
    assert types(valve.start_fill("ST-01")) == ["fill_started"]
    [completed] = valve.finish_fill(14.5)
    assert completed == {
        "v": 1,
        "valve_id": "V0000001",
        "seq": 42,
        "ts": "2026-11-28T10:00:00.000Z",
        "type": "fill_completed",
        "data": {"auth_id": auth_id, "mass_kg": 14.5},
        "mac": "020a66c3d49bcf673ac708b8ce2801ba54d6b48af04cd6728311a1fe7061723c",
    }


def test_a_valve_starts_locked_and_denies_a_fill() -> None:
    valve = new_valve()
    assert valve.locked
    assert valve.start_fill("ST-01")[0]["data"] == {"reason": "not_authorized"}
    assert valve.finish_fill(10) == []
    assert valve.state.content_kg == 1.5


@pytest.mark.parametrize(
    ("kwargs", "verdict"),
    [
        ({"secret": bytes(32)}, CommandVerdict.BAD_MAC),
        ({"expires_in": timedelta(seconds=-1)}, CommandVerdict.EXPIRED),
        ({"expires_in": timedelta(0)}, CommandVerdict.EXPIRED),
    ],
)
def test_bad_commands_are_ignored(kwargs: dict[str, object], verdict: CommandVerdict) -> None:
    valve = new_valve()
    assert authorize(valve, **kwargs) is verdict  # type: ignore[arg-type]
    assert valve.locked
    assert types(valve.start_fill("ST-01")) == ["fill_denied"]


def test_a_reused_auth_id_is_ignored_even_after_its_fill() -> None:
    valve = new_valve()
    auth_id = str(uuid4())
    assert authorize(valve, auth_id=auth_id) is CommandVerdict.ACCEPTED
    valve.start_fill("ST-01")
    valve.finish_fill(5)
    assert authorize(valve, auth_id=auth_id) is CommandVerdict.REUSED_AUTH_ID
    assert valve.locked
    assert types(valve.start_fill("ST-01")) == ["fill_denied"]


def test_a_redelivered_authorization_does_not_open_a_second_fill() -> None:
    valve = new_valve()
    auth_id = str(uuid4())
    assert authorize(valve, auth_id=auth_id) is CommandVerdict.ACCEPTED
    assert authorize(valve, auth_id=auth_id) is CommandVerdict.REUSED_AUTH_ID  # QoS 1 duplicate
    assert types(valve.start_fill("ST-01")) == ["fill_started"]
    assert types(valve.finish_fill(5)) == ["fill_completed"]
    assert types(valve.start_fill("ST-01")) == ["fill_denied"]


def test_one_fill_per_authorization_capped_at_its_mass_and_the_room_left() -> None:
    valve = new_valve(content_kg=1.5)
    authorize(valve, max_mass_kg=10.0)
    assert not valve.locked
    [started] = valve.start_fill("ST-01")
    assert valve.locked and valve.filling
    [completed] = valve.finish_fill(12.5)
    assert completed["data"] == {"auth_id": started["data"]["auth_id"], "mass_kg": 10.0}
    assert valve.state.content_kg == 11.5
    authorize(valve)
    valve.start_fill("ST-01")
    assert valve.finish_fill(12.5)[0]["data"]["mass_kg"] == pytest.approx(3.4)
    assert valve.state.content_kg == 14.9


def test_a_fill_at_another_station_or_after_expiry_is_denied() -> None:
    clock = ManualClock(T0)
    valve = new_valve(clock=clock)
    authorize(valve, station_id="ST-01")
    assert valve.start_fill("ST-99")[0]["data"] == {"reason": "wrong_station"}
    clock.advance(timedelta(minutes=16))
    assert valve.locked
    assert valve.start_fill("ST-01")[0]["data"] == {"reason": "authorization_expired"}


def test_lock_drops_a_pending_authorization() -> None:
    valve = new_valve()
    authorize(valve)
    outcome = valve.handle_command(encode(lock_command(SECRET, VALVE, reason="seized")))
    assert outcome.accepted
    assert valve.locked
    assert types(valve.start_fill("ST-01")) == ["fill_denied"]


def test_a_lock_with_a_bad_mac_is_ignored() -> None:
    valve = new_valve()
    authorize(valve)
    outcome = valve.handle_command(encode(lock_command(bytes(32), VALVE, reason="seized")))
    assert outcome.verdict is CommandVerdict.BAD_MAC
    assert not valve.locked


@pytest.mark.parametrize("payload", [b"{", b"[]", b'{"v":1}'])
def test_malformed_commands_are_ignored(payload: bytes) -> None:
    valve = new_valve()
    assert valve.handle_command(payload).verdict is CommandVerdict.MALFORMED
    assert valve.locked


def test_a_command_for_another_valve_is_ignored() -> None:
    valve = new_valve()
    cmd = authorize_fill_command(
        SECRET, "V0000002", auth_id=uuid4(), station_id="S", max_mass_kg=1, expires=T0 + timedelta(hours=1)
    )
    assert valve.handle_command(encode(cmd)).verdict is CommandVerdict.MALFORMED
    assert valve.locked


def test_gas_forced_in_around_the_lock_is_reported() -> None:
    valve = new_valve(content_kg=10.0)
    [event] = valve.bypass_fill(8.0)
    assert event["type"] == "refill_detected" and event["data"] == {"delta_kg": 4.9}
    assert valve.bypass_fill(1.0) == []  # full: nothing went in


def test_open_close_and_gas_use() -> None:
    valve = new_valve(content_kg=10.0)
    valve.use_gas(1.0)
    assert valve.state.content_kg == 10.0  # closed: nothing flows
    assert types(valve.open() + valve.open()) == ["opened"]
    valve.use_gas(1.0)
    assert types(valve.close() + valve.close()) == ["closed"]
    assert valve.state.content_kg == 9.0
    assert valve.heartbeat()[0]["data"]["level_pct"] == round(100 * 9.0 / 14.9, 1)


def test_low_battery_is_reported_once_when_crossing_the_mark() -> None:
    valve = new_valve()
    assert valve.set_battery(LOW_BATTERY_PCT + 1) == []
    [low] = valve.set_battery(LOW_BATTERY_PCT - 1)
    assert low["type"] == "low_battery" and low["data"] == {"battery_pct": LOW_BATTERY_PCT - 1}
    assert valve.set_battery(LOW_BATTERY_PCT - 5) == []


def test_the_valve_clock_has_its_skew() -> None:
    valve = Valve.boot(VALVE, SECRET, clock=ManualClock(T0), skew=timedelta(days=-3))
    assert valve.heartbeat()[0]["ts"] == "2026-11-25T10:00:00.000Z"


def test_every_event_is_signed_and_valid() -> None:
    valve = new_valve(content_kg=5.0)
    events = [
        *valve.heartbeat(),
        *valve.open(),
        *valve.leak(900),
        *valve.close(),
        *valve.tamper("case_opened"),
        *valve.tamper("valve_removed"),
        *valve.set_battery(10),
        *valve.start_fill("X"),
        *valve.bypass_fill(1),
    ]
    for event in events:
        msg = parse_event_message(events_topic(VALVE), encode(event))
        assert verify_mac(SECRET, msg)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {EventType(t) for t in types(events)} == {
        EventType.HEARTBEAT,
        EventType.OPENED,
        EventType.LEAK,
        EventType.CLOSED,
        EventType.TAMPER,
        EventType.LOW_BATTERY,
        EventType.FILL_DENIED,
        EventType.REFILL_DETECTED,
    }


def test_seq_used_auth_ids_and_unsent_events_survive_a_restart(tmp_path: Path) -> None:
    valve = new_valve(tmp_path)
    auth_id = str(uuid4())
    authorize(valve, auth_id=auth_id)
    valve.heartbeat()
    valve.open()
    valve.acknowledge(1)
    valve.checkpoint()
    valve.close()  # seq 3, never acknowledged

    rebooted = new_valve(tmp_path)
    assert rebooted.seq == 3
    assert [m["seq"] for m in rebooted.pending()] == [2, 3]
    assert not rebooted.locked  # the pending authorization was kept in flash
    assert authorize(rebooted, auth_id=auth_id) is CommandVerdict.REUSED_AUTH_ID
    assert rebooted.heartbeat()[0]["seq"] == 4


def test_the_state_file_is_replaced_atomically(tmp_path: Path) -> None:
    valve = new_valve(tmp_path)
    for _ in range(5):
        valve.heartbeat()
    assert [p.name for p in tmp_path.iterdir()] == [f"{VALVE}.json"]
    state = json.loads((tmp_path / f"{VALVE}.json").read_text())
    assert state["seq"] == 5 and state["secret_hex"] == SECRET.hex() and state["format"] == 1


def test_a_state_file_of_another_valve_is_refused(tmp_path: Path) -> None:
    new_valve(tmp_path).heartbeat()
    with pytest.raises(ValueError, match="another valve or secret"):
        Valve.boot(VALVE, bytes(32), store=StateFile(tmp_path / f"{VALVE}.json"))


def test_offline_events_stay_buffered_in_seq_order_until_acknowledged() -> None:
    valve = new_valve()
    for hour in range(24):
        valve.heartbeat()
        if hour % 8 == 0:
            valve.open()
            valve.close()
    pending = [m["seq"] for m in valve.pending()]
    assert pending == list(range(1, valve.seq + 1))
    for seq in (3, 1, 2):  # acknowledgements may come in any order
        valve.acknowledge(seq)
    valve.acknowledge(999)  # unknown: ignored
    assert [m["seq"] for m in valve.pending()] == list(range(4, valve.seq + 1))
