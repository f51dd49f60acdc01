"""A plain paho subscriber standing in for the service: records what the broker delivers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from cylinder_trace.mqtt.protocol import ValveMessage, parse_event_message, verify_mac
from firmware_sim.registry import derive_secret

SEED = "test-seed"


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool


class Subscriber:
    def __init__(self, host: str, port: int, topics: list[str], *, v5: bool = False) -> None:
        self.host, self.port, self.topics = host, port, topics
        protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._cond = threading.Condition()
        self._received: list[Received] = []
        self._subscribed = threading.Event()

    def __enter__(self) -> Subscriber:
        self.client.connect(self.host, self.port)
        self.client.subscribe([(t, 1) for t in self.topics])
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("no SUBACK")
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def received(self) -> list[Received]:
        with self._cond:
            return list(self._received)

    def on(self, topic: str) -> list[Received]:
        return [r for r in self.received if r.topic == topic]

    def wait_for(self, done: Callable[[list[Received]], bool], timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not done(self._received):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_count(self, topic: str, count: int, timeout: float = 15.0) -> list[Received]:
        self.wait_for(lambda rs: sum(r.topic == topic for r in rs) >= count, timeout)
        return self.on(topic)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self._received.append(Received(message.topic, bytes(message.payload), bool(message.retain)))
            self._cond.notify_all()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Any) -> None:
        self._subscribed.set()


def verified(received: list[Received], seed: str = SEED) -> list[ValveMessage]:
    """Parse every event and check its mac with the valve's secret; fails the test otherwise."""
    messages = [parse_event_message(r.topic, r.payload) for r in received]
    for msg in messages:
        assert verify_mac(derive_secret(seed, msg.valve_id), msg), f"bad mac on {msg.valve_id} seq {msg.seq}"
    return messages
