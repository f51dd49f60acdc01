"""Load mode through our Mosquitto: every QoS 1 message acknowledged by the broker and delivered."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from cylinder_trace.mqtt.protocol import EVENTS_SUBSCRIPTION
from firmware_sim.link import MqttProtocol
from firmware_sim.load import LoadOptions, run_load
from tests.integration.broker.subscriber import SEED, Subscriber, verified
from tests.support.mosquitto import RunningMosquitto, mosquitto_fixture

pytestmark = pytest.mark.broker

mosquitto = mosquitto_fixture(scope="module")


@pytest.mark.parametrize(
    ("protocol", "valves", "rate", "duration"),
    [(MqttProtocol.V311, 50, 5000.0, 1.0), (MqttProtocol.V5, 20, 2000.0, 0.5)],
)
def test_load_delivers_every_message_at_qos_1(
    mosquitto: RunningMosquitto,
    tmp_path: Path,
    protocol: MqttProtocol,
    valves: int,
    rate: float,
    duration: float,
) -> None:
    total = int(rate * duration)
    prefix = f"L{protocol.name}-"
    options = LoadOptions(
        url=mosquitto.url,
        protocol=protocol,
        valves=valves,
        rate=rate,
        duration_s=duration,
        clients=2,
        seed=SEED,
        prefix=prefix,
        state_dir=tmp_path,
    )
    with Subscriber(mosquitto.host, mosquitto.port, [EVENTS_SUBSCRIPTION]) as sub:
        result = run_load(options)
        assert result.sent == result.acked == total
        assert result.failed == 0
        assert sub.wait_for(lambda rs: len(rs) >= total, timeout=30)
    events = verified(sub.received)
    assert len(events) == total
    seqs: dict[str, list[int]] = defaultdict(list)
    for event in events:
        seqs[event.valve_id].append(event.seq)
    assert len(seqs) == valves
    for valve_seqs in seqs.values():  # each valve's events arrive once each, in order
        assert valve_seqs == list(range(1, total // valves + 1))

    again = run_load(options)  # a later run continues each valve's seq
    assert again.acked == total
    used = json.loads((tmp_path / f"load-{prefix}.json").read_text())
    assert used[f"{prefix}0000001"] == 2 * total // valves
