"""``cylinder-trace serve`` as shipped: with the embedded broker (amqtt, MQTT 3.1.1) it takes valve
messages and closes the loop with a fill check's ``authorize_fill`` — one command, nothing else to run."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cylinder_trace.mqtt.protocol import (
    CommandType,
    EventType,
    build_event,
    command_mac_ok,
    commands_topic,
    encode,
    events_topic,
    parse_command_message,
    status_topic,
)
from tests.integration.broker.subscriber import Subscriber
from tests.support.mosquitto import free_port
from tests.support.server import running_process

from .helpers import T0, secret_of
from .infra import REPO, wait_until

TOKEN = "serve-test-token"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    workdir = Path(tmp_path_factory.mktemp("serve"))
    http_port, mqtt_port = free_port(), free_port()
    env = {**os.environ, "CT_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'ct.sqlite3'}",
           "CT_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}", "CT_ADMIN_TOKEN": TOKEN, "CT_SWEEP_INTERVAL_S": "0"}
    env.pop("CT_EMBEDDED_BROKER", None)  # the default: on
    command = [sys.executable, "-m", "cylinder_trace.cli", "serve", "--port", str(http_port)]
    base = f"http://127.0.0.1:{http_port}"
    with running_process(command, env, base, workdir / "serve.log", REPO, startup_s=60):
        yield base, mqtt_port


def api(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def ok(response: httpx.Response) -> dict:  # type: ignore[type-arg]
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def test_serve_runs_the_embedded_broker_and_ingests_over_mqtt_311(served: tuple[str, int]) -> None:
    base, mqtt_port = served
    with api(base) as c:
        ok(c.post("/api/v1/companies", json={"id": "C1", "name": "燃气", "licence_no": "L",
                                             "licence_valid_until": "2030-12-31"}))
        ok(c.post("/api/v1/valves", json={"valve_id": "E1", "company_id": "C1", "secret": secret_of("E1").hex()}))
        valve = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="E1", protocol=mqtt.MQTTv311)
        valve.will_set(status_topic("E1"), b"offline", qos=1, retain=True)
        valve.connect("127.0.0.1", mqtt_port)
        valve.loop_start()
        try:
            valve.publish(status_topic("E1"), b"online", qos=1, retain=True).wait_for_publish(10)
            for seq in (1, 2, 4):
                data = {"battery_pct": 77, "rssi": -61}
                body = build_event(secret_of("E1"), "E1", seq, T0, EventType.HEARTBEAT, data)
                valve.publish(events_topic("E1"), encode(body), qos=1).wait_for_publish(10)
            wait_until(lambda: ok(c.get("/api/v1/valves/E1"))["last_seq"] == 4, 30, "the messages to be stored")
        finally:
            valve.disconnect()
            valve.loop_stop()
        status = ok(c.get("/api/v1/valves/E1"))
        assert (status["online"], status["battery_pct"], status["missing_seq_ranges"]) == (True, 77, [[3, 3]])


def test_a_passing_fill_check_sends_a_signed_authorize_fill(served: tuple[str, int]) -> None:
    base, mqtt_port = served
    with api(base) as c:
        ok(c.post("/api/v1/companies", json={"id": "C2", "name": "燃气二", "licence_no": "L2",
                                             "licence_valid_until": "2030-12-31"}))
        ok(c.post("/api/v1/stations", json={"id": "S2", "company_id": "C2", "name": "站", "licence_no": "T",
                                            "licence_valid_until": "2030-12-31"}))
        ok(c.post("/api/v1/valves", json={"valve_id": "E2", "company_id": "C2", "secret": secret_of("E2").hex()}))
        code = ok(c.post("/api/v1/cylinders", json={
            "event_id": "3f2b8c1e-7d4a-4b6e-9c2d-000000000001", "model": "YSP35.5", "manufacturer_code": "M",
            "manufactured_on": "2025-01-01", "owner": {"company_id": "C2"}}))["code"]
        ok(c.post(f"/api/v1/cylinders/{code}/valve", json={
            "event_id": "3f2b8c1e-7d4a-4b6e-9c2d-000000000002", "valve_id": "E2",
            "occurred_at": "2026-01-01T08:00:00+08:00"}))
        with Subscriber("127.0.0.1", mqtt_port, [commands_topic("E2")]) as valve:
            check = ok(c.post("/api/v1/fill-checks", json={"code": code, "station_id": "S2"}))
            assert check["allowed"], check
            auth = check["authorization"]
            [received] = valve.wait_count(commands_topic("E2"), 1, timeout=30)
        command = parse_command_message(received.topic, received.payload)
        assert command.cmd is CommandType.AUTHORIZE_FILL and command_mac_ok(secret_of("E2"), command)
        assert command.fields["auth_id"] == auth["auth_id"] and command.fields["expires"] == auth["expires"]
        assert command.fields["station_id"] == "S2" and command.fields["max_mass_kg"] == 14.9
        time.sleep(0.5)
        history = ok(c.get(f"/api/v1/cylinders/{code}/history"))
        assert [e["type"] for e in history["events"]] == ["CylinderRegistered", "SmartValveFitted"]
