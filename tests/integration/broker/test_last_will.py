"""The valve's status topic: retained ``online`` while connected, ``offline`` when it goes away —
from the broker (Last Will) when the process dies, from the valve itself when it stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cylinder_trace.mqtt.protocol import events_topic, status_topic
from tests.integration.broker.subscriber import SEED, Subscriber, verified
from tests.support.mosquitto import REPO_ROOT, RunningMosquitto, mosquitto_fixture

pytestmark = pytest.mark.broker

mosquitto = mosquitto_fixture(scope="module")


def start_holding_valve(broker: RunningMosquitto, valve_id: str, state_dir: Path) -> subprocess.Popen[bytes]:
    """``valve-sim run tamper --hold`` in its own process."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "firmware_sim", "run", "tamper", "--hold",
            "--valve-id", valve_id, "--seed", SEED, "--url", broker.url, "--state-dir", str(state_dir),
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def statuses(sub: Subscriber, valve_id: str) -> list[bytes]:
    return [r.payload for r in sub.on(status_topic(valve_id))]


@pytest.mark.parametrize(
    ("sig", "exit_code"),
    [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGTERM, 0)],
    ids=["killed", "terminated"],
)
def test_offline_is_announced_and_retained(
    mosquitto: RunningMosquitto, tmp_path: Path, sig: signal.Signals, exit_code: int
) -> None:
    valve_id = f"V-will-{sig.name}"
    topics = [status_topic(valve_id), events_topic(valve_id)]
    with Subscriber(mosquitto.host, mosquitto.port, topics) as sub:
        valve = start_holding_valve(mosquitto, valve_id, tmp_path)
        try:
            assert sub.wait_for(lambda rs: len([r for r in rs if r.topic == topics[1]]) == 3), "no events"
            assert statuses(sub, valve_id) == [b"online"]
            os.kill(valve.pid, sig)
            assert valve.wait(10) == exit_code
            assert sub.wait_for(lambda rs: rs[-1].payload == b"offline")
        finally:
            valve.kill()
            valve.wait()
            assert valve.stderr is not None
            valve.stderr.close()
        assert [e.seq for e in verified(sub.on(topics[1]))] == [1, 2, 3]
        assert statuses(sub, valve_id) == [b"online", b"offline"]
    # someone who subscribes later still learns that the valve is offline
    with Subscriber(mosquitto.host, mosquitto.port, [status_topic(valve_id)]) as late:
        assert late.wait_for(lambda rs: len(rs) == 1)
        assert [(r.payload, r.retain) for r in late.received] == [(b"offline", True)]
