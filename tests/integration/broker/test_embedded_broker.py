"""The amqtt broker of the one-command default carries paho clients (MQTT 3.1.1, QoS 1) and a valve."""

from __future__ import annotations

import asyncio
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cylinder_trace.mqtt.embedded_broker import embedded_broker, start_embedded_broker, stop_embedded_broker
from cylinder_trace.mqtt.protocol import events_topic, status_topic
from firmware_sim.scenarios import ScenarioOptions, run_scenario
from tests.integration.broker.subscriber import SEED, Subscriber, verified
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.broker


def publish_and_receive(port: int, count: int) -> list[bytes]:
    with Subscriber("127.0.0.1", port, ["demo/#"]) as sub:
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pub", protocol=mqtt.MQTTv311)
        publisher.connect("127.0.0.1", port)
        publisher.loop_start()
        infos = [publisher.publish("demo/x", f"m{i}".encode(), qos=1) for i in range(count)]
        for info in infos:
            info.wait_for_publish(10)
        assert all(info.is_published() for info in infos)
        sub.wait_for(lambda rs: len(rs) >= count)
        publisher.disconnect()
        publisher.loop_stop()
    return [r.payload for r in sub.received]


async def test_paho_clients_publish_and_receive_through_it() -> None:
    port = free_port()
    async with embedded_broker(f"mqtt://127.0.0.1:{port}"):
        received = await asyncio.to_thread(publish_and_receive, port, 200)
    assert received == [f"m{i}".encode() for i in range(200)]


async def test_a_valve_scenario_through_it(tmp_path: Path) -> None:
    port = free_port()
    valve_id = "V-embedded"

    def scenario() -> Subscriber:
        topics = [events_topic(valve_id), status_topic(valve_id)]
        with Subscriber("127.0.0.1", port, topics) as sub:
            options = ScenarioOptions(valve_id=valve_id, seed=SEED, url=f"mqtt://127.0.0.1:{port}", state_dir=tmp_path)
            result = run_scenario("offline-day", options)
            sub.wait_count(events_topic(valve_id), len(result.emitted))
        return sub

    broker = await start_embedded_broker(f"mqtt://127.0.0.1:{port}")
    try:
        sub = await asyncio.to_thread(scenario)
    finally:
        await stop_embedded_broker(broker)
    assert [e.seq for e in verified(sub.on(events_topic(valve_id)))] == list(range(1, 32))
    assert [r.payload for r in sub.on(status_topic(valve_id))][:3] == [b"online", b"offline", b"online"]


async def test_only_plain_mqtt_urls() -> None:
    with pytest.raises(ValueError):
        await start_embedded_broker("mqtts://127.0.0.1:8883")
