"""Scenarios end to end through our Mosquitto: what a plain subscriber (the service) receives."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cylinder_trace.mqtt.protocol import (
    authorize_fill_command,
    commands_topic,
    encode,
    events_topic,
    status_topic,
)
from firmware_sim.link import MqttProtocol
from firmware_sim.registry import derive_secret
from firmware_sim.scenarios import ScenarioOptions, ScenarioResult, run_scenario
from tests.integration.broker.subscriber import SEED, Subscriber, verified
from tests.support.mosquitto import RunningMosquitto, mosquitto_fixture

pytestmark = pytest.mark.broker

mosquitto = mosquitto_fixture(scope="module")


def options(broker: RunningMosquitto, valve_id: str, state_dir: Path, **kwargs: Any) -> ScenarioOptions:
    return ScenarioOptions(valve_id=valve_id, seed=SEED, url=broker.url, state_dir=state_dir, **kwargs)


def run_and_receive(
    broker: RunningMosquitto, scenario: str, valve_id: str, state_dir: Path, **kwargs: Any
) -> tuple[ScenarioResult, Subscriber]:
    topics = [events_topic(valve_id), status_topic(valve_id)]
    with Subscriber(broker.host, broker.port, topics) as sub:
        result = run_scenario(scenario, options(broker, valve_id, state_dir, **kwargs))
        sub.wait_count(events_topic(valve_id), len(result.emitted) + result.raw_published)
        sub.wait_for(lambda rs: bool(rs) and rs[-1].payload == b"offline")
    return result, sub


@pytest.mark.parametrize("protocol", list(MqttProtocol))
def test_a_household_week_arrives_signed_and_in_order(
    mosquitto: RunningMosquitto, tmp_path: Path, protocol: MqttProtocol
) -> None:
    valve_id = f"V-week-{protocol.name}"
    result, sub = run_and_receive(mosquitto, "household-week", valve_id, tmp_path, protocol=protocol)
    events = verified(sub.on(events_topic(valve_id)))
    assert [e.as_dict() for e in events] == result.emitted
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len(events) == 71
    kinds = Counter(e.type.value for e in events)
    assert kinds == {"heartbeat": 28, "opened": 21, "closed": 21, "low_battery": 1}
    levels = [e.data["level_pct"] for e in events if e.type.value == "heartbeat"]
    assert levels == sorted(levels, reverse=True) and levels[0] > levels[-1]
    assert timedelta(days=6) < events[-1].ts - events[0].ts < timedelta(days=7)
    assert [r.payload for r in sub.on(status_topic(valve_id))] == [b"online", b"offline"]


def test_a_day_offline_is_buffered_then_flushed_in_seq_order(mosquitto: RunningMosquitto, tmp_path: Path) -> None:
    valve_id = "V-offline"
    result, sub = run_and_receive(mosquitto, "offline-day", valve_id, tmp_path)
    events = verified(sub.on(events_topic(valve_id)))
    assert [e.seq for e in events] == list(range(1, 32))
    assert [e.as_dict() for e in events] == result.emitted
    assert events[-1].ts - events[1].ts >= timedelta(hours=23)
    # the broker announced the valve's loss of network (Last Will), then it came back
    assert [r.payload for r in sub.on(status_topic(valve_id))] == [b"online", b"offline", b"online", b"offline"]


def test_a_duplicate_storm_and_a_replay(mosquitto: RunningMosquitto, tmp_path: Path) -> None:
    valve_id = "V-storm"
    result, sub = run_and_receive(mosquitto, "duplicate-storm", valve_id, tmp_path, repeats=40)
    received = sub.on(events_topic(valve_id))
    assert len(received) == 3 + 40 + 1
    assert result.raw_acked == 41
    events = verified(received)  # even the replay is correctly signed
    by_seq: dict[int, set[str]] = {}
    for e in events:
        by_seq.setdefault(e.seq, set()).add(e.canonical())
    assert Counter(e.seq for e in events) == {1: 2, 2: 41, 3: 1}
    assert len(by_seq[2]) == 1, "the storm repeats one event byte for byte"
    assert len(by_seq[1]) == 2, "the replay has the seq of the heartbeat and other content"


def test_an_authorized_fill_obeys_only_a_valid_command(mosquitto: RunningMosquitto, tmp_path: Path) -> None:
    valve_id = "V-fill"
    secret = derive_secret(SEED, valve_id)
    results: list[ScenarioResult] = []
    topics = [events_topic(valve_id), status_topic(valve_id)]
    with Subscriber(mosquitto.host, mosquitto.port, topics) as sub:
        runner = threading.Thread(
            target=lambda: results.append(
                run_scenario("authorized-fill", options(mosquitto, valve_id, tmp_path, timeout_s=15))
            )
        )
        runner.start()
        assert sub.wait_for(lambda rs: any(r.payload == b"online" for r in rs))
        auth_id = str(uuid4())
        soon = datetime.now(UTC) + timedelta(minutes=10)

        def command(key: bytes, expires: datetime, auth: str) -> bytes:
            return encode(
                authorize_fill_command(
                    key, valve_id, auth_id=auth, station_id="ST-07", max_mass_kg=14.9, expires=expires
                )
            )

        service = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        service.connect(mosquitto.host, mosquitto.port)
        service.loop_start()
        for payload in [
            command(bytes(32), soon, str(uuid4())),  # wrong key
            command(secret, datetime.now(UTC) - timedelta(seconds=1), str(uuid4())),  # expired
            command(secret, soon, auth_id),
            command(secret, soon, auth_id),  # redelivered: already used
        ]:
            service.publish(commands_topic(valve_id), payload, qos=1).wait_for_publish(5)
        runner.join(30)
        service.disconnect()
        service.loop_stop()
        [result] = results
        sub.wait_count(events_topic(valve_id), len(result.emitted))
    assert [c["verdict"] for c in result.commands] == ["bad_mac", "expired", "accepted", "reused_auth_id"]
    events = verified(sub.on(events_topic(valve_id)))
    assert [e.type.value for e in events] == ["heartbeat", "fill_started", "fill_completed", "heartbeat"]
    assert events[1].data == {"auth_id": auth_id}
    assert events[2].data == {"auth_id": auth_id, "mass_kg": 12.5}


@pytest.mark.parametrize(
    ("scenario", "types", "data"),
    [
        (
            "illegal-decant",
            ["heartbeat", "fill_denied", "refill_detected", "heartbeat"],
            {1: {"reason": "not_authorized"}, 2: {"delta_kg": 12.5}},
        ),
        ("tamper", ["heartbeat", "tamper", "tamper"], {1: {"kind": "case_opened"}, 2: {"kind": "valve_removed"}}),
        ("leak", ["heartbeat", "opened", "leak", "leak", "closed"], {2: {"ppm": 350}, 3: {"ppm": 2500}}),
    ],
)
def test_alarm_scenarios(
    mosquitto: RunningMosquitto,
    tmp_path: Path,
    scenario: str,
    types: list[str],
    data: dict[int, dict[str, Any]],
) -> None:
    valve_id = f"V-{scenario}"
    _, sub = run_and_receive(mosquitto, scenario, valve_id, tmp_path)
    events = verified(sub.on(events_topic(valve_id)))
    assert [e.type.value for e in events] == types
    assert {i: dict(events[i].data) for i in data} == data


def test_a_skewed_clock_shows_in_ts(mosquitto: RunningMosquitto, tmp_path: Path) -> None:
    valve_id = "V-skew"
    _, sub = run_and_receive(mosquitto, "clock-skew", valve_id, tmp_path, skew=timedelta(hours=-50))
    events = verified(sub.on(events_topic(valve_id)))
    assert len(events) == 4
    for event in events:
        assert abs(datetime.now(UTC) - timedelta(hours=50) - event.ts) < timedelta(minutes=1)


def test_a_second_run_continues_the_valves_seq(mosquitto: RunningMosquitto, tmp_path: Path) -> None:
    valve_id = "V-again"
    run_and_receive(mosquitto, "tamper", valve_id, tmp_path)
    _, sub = run_and_receive(mosquitto, "tamper", valve_id, tmp_path)
    assert [e.seq for e in verified(sub.on(events_topic(valve_id)))] == [4, 5, 6]
