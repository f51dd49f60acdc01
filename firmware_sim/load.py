"""Load mode: many valves' heartbeats at a target rate, QoS 1, counting what the broker acknowledged.

For load, a few paho clients publish on behalf of many valves: client ``k`` carries the events of
every valve whose index is ``k`` modulo the number of clients, on each valve's own events topic,
signed with its own secret and numbered with its own ``seq``. What the service sees is therefore what
N separate valves would send; what the broker sees is fewer connections (no per-valve status or Last
Will, no commands). That is deliberate: thousands of real TCP connections measure the machine's
socket limits, not the ingest path.

A valve's ``seq`` range for a run is reserved in ``load-<prefix>.json`` under the state directory
before anything is sent, so a later run continues each valve's history instead of replaying it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from cylinder_trace.mqtt.protocol import EventType, build_event, encode, events_topic
from firmware_sim.link import MqttProtocol, connect_kwargs, new_client, parse_url
from firmware_sim.registry import DEFAULT_SEED, derive_secret, valve_ids

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LoadOptions:
    url: str = "mqtt://127.0.0.1:18830"
    protocol: MqttProtocol = MqttProtocol.V311
    valves: int = 100
    #: messages per second, all valves together
    rate: float = 1000.0
    duration_s: float = 5.0
    #: paho clients sharing the valves
    clients: int = 4
    seed: str = DEFAULT_SEED
    prefix: str = "L"
    state_dir: Path | None = Path("var/valves")
    #: unacknowledged messages per client
    inflight: int = 1000
    #: how long to wait for outstanding PUBACKs after the last publish
    drain_timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class LoadResult:
    valves: int
    clients: int
    protocol: str
    target_rate: float
    #: publish calls the client library accepted
    sent: int
    #: PUBACKs received (with a success reason code)
    acked: int
    #: PUBACKs with a failure reason code (MQTT 5), and publish calls refused locally
    failed: int
    #: seconds spent publishing, and until the last PUBACK
    publish_s: float
    total_s: float

    @property
    def send_rate(self) -> float:
        return self.sent / self.publish_s if self.publish_s > 0 else 0.0

    @property
    def ack_rate(self) -> float:
        return self.acked / self.total_s if self.total_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "send_rate": round(self.send_rate, 1), "ack_rate": round(self.ack_rate, 1)}


class _Publisher:
    """One paho client, driven from the publishing thread (no network thread): counts PUBACKs."""

    def __init__(self, index: int, options: LoadOptions) -> None:
        self.options = options
        self.client = new_client(f"valve-sim-load-{os.getpid()}-{index}", options.protocol, persistent=False)
        self.client.max_inflight_messages_set(options.inflight)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.connected = False
        self.refused: str | None = None
        self.acked = 0
        self.failed = 0
        self.last_ack = 0.0

    def start(self, timeout: float = 10.0) -> None:
        address = parse_url(self.options.url)
        kwargs = connect_kwargs(self.options.protocol, persistent=False, session_expiry_s=0)
        self.client.connect(address.host, address.port, keepalive=60, **kwargs)
        deadline = time.monotonic() + timeout
        while not self.connected and time.monotonic() < deadline:
            self.client.loop(timeout=0.05)
        if not self.connected or self.refused:
            raise RuntimeError(f"load client could not connect to {self.options.url}: {self.refused}")

    def service(self) -> None:
        """Read PUBACKs, send what waited for room in the in-flight window, keep the session alive."""
        rc = self.client.loop(timeout=0)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise RuntimeError(f"load client lost its connection: {mqtt.error_string(rc)}")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop(timeout=0.05)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        props: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
        self.connected = True

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode, props: Properties | None
    ) -> None:
        if reason_code.is_failure:
            self.failed += 1
        else:
            self.acked += 1
        self.last_ack = time.monotonic()


def reserve_seqs(state_dir: Path | None, prefix: str, ids: list[str], count: dict[str, int]) -> dict[str, int]:
    """The last ``seq`` each valve used before this run; records the run's ranges as used."""
    if state_dir is None:
        return dict.fromkeys(ids, 0)
    path = state_dir / f"load-{prefix}.json"
    used: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
    before = {v: int(used.get(v, 0)) for v in ids}
    used.update({v: before[v] + count.get(v, 0) for v in ids})
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(used, sort_keys=True))
    os.replace(tmp, path)
    return before


def run_load(options: LoadOptions, log: Log = lambda _: None) -> LoadResult:
    if options.rate <= 0 or options.duration_s <= 0 or options.valves < 1 or options.clients < 1:
        raise ValueError("rate, duration, valves and clients must be positive")
    total = max(1, round(options.rate * options.duration_s))
    ids = valve_ids(options.valves, options.prefix)
    per_valve = {v: total // len(ids) + (1 if i < total % len(ids) else 0) for i, v in enumerate(ids)}
    last_seq = reserve_seqs(options.state_dir, options.prefix, ids, per_valve)
    secrets = [derive_secret(options.seed, v) for v in ids]
    topics = [events_topic(v) for v in ids]
    publishers = [_Publisher(k, options) for k in range(min(options.clients, len(ids)))]

    def service_all() -> None:
        for p in publishers:
            p.service()

    log(f"{total} messages from {len(ids)} valves over {len(publishers)} clients at {options.rate:g}/s")
    sent = refused = 0
    try:
        for p in publishers:
            p.start()
        start = time.monotonic()
        for i in range(total):
            due = start + i / options.rate
            while (ahead := due - time.monotonic()) > 0:
                service_all()
                time.sleep(min(ahead, 0.001))
            if i % 32 == 0:
                service_all()
            n = i % len(ids)
            last_seq[ids[n]] += 1
            data = {"battery_pct": 87.0, "rssi": -70, "level_pct": 55.0}
            message = build_event(secrets[n], ids[n], last_seq[ids[n]], datetime.now(UTC), EventType.HEARTBEAT, data)
            info = publishers[n % len(publishers)].client.publish(topics[n], encode(message), qos=1)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                sent += 1
            else:
                refused += 1
        publish_s = time.monotonic() - start
        deadline = time.monotonic() + options.drain_timeout_s
        while sum(p.acked + p.failed for p in publishers) < sent and time.monotonic() < deadline:
            service_all()
            time.sleep(0.001)
    finally:
        for p in publishers:
            p.stop()
    acked = sum(p.acked for p in publishers)
    last_ack = max((p.last_ack for p in publishers), default=start)
    return LoadResult(
        valves=len(ids),
        clients=len(publishers),
        protocol=options.protocol.value,
        target_rate=options.rate,
        sent=sent,
        acked=acked,
        failed=refused + sum(p.failed for p in publishers),
        publish_s=round(publish_s, 3),
        total_s=round(max(last_ack, start + publish_s) - start, 3),
    )
