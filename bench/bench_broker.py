"""QoS 1 pass-through of Mosquitto with our ``deploy/mosquitto.conf`` and with ``set_tcp_nodelay false``
(Mosquitto's default), in the same run: the valve simulator's load mode publishes N heartbeats as fast as
it can to a QoS 1 subscriber; the rates are what the broker acknowledged to the publisher and what it
delivered to the subscriber, from the start of publishing to the last message.

    .venv/bin/python bench/bench_broker.py [--messages 20000] [--protocol 3.1.1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cylinder_trace.mqtt.protocol import EVENTS_SUBSCRIPTION  # noqa: E402
from firmware_sim.link import MqttProtocol  # noqa: E402
from firmware_sim.load import LoadOptions, run_load  # noqa: E402
from tests.integration.broker.subscriber import Subscriber  # noqa: E402
from tests.support.mosquitto import DEPLOY_CONF, running_mosquitto  # noqa: E402


def rates(conf: Path, messages: int, protocol: MqttProtocol, state: Path) -> tuple[float, float]:
    """(acknowledged to the publisher, delivered to the subscriber), messages per second."""
    with running_mosquitto(conf=conf) as broker, Subscriber(broker.host, broker.port, [EVENTS_SUBSCRIPTION]) as sub:
        rate = 1_000_000.0
        start = time.perf_counter()
        result = run_load(LoadOptions(url=broker.url, protocol=protocol, valves=100, rate=rate,
                                      duration_s=messages / rate, state_dir=state, drain_timeout_s=600))
        if not sub.wait_for(lambda got: len(got) >= messages, timeout=600):
            raise RuntimeError(f"the subscriber got {len(sub.received)} of {messages}")
        delivered_s = time.perf_counter() - start
    if result.acked != messages:
        raise RuntimeError(f"the broker acknowledged {result.acked} of {messages}")
    return result.ack_rate, messages / delivered_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--protocol", choices=["3.1.1", "5"], default="3.1.1")
    args = parser.parse_args()
    protocol = MqttProtocol(args.protocol)
    with tempfile.TemporaryDirectory(prefix="ct-bench-broker-") as tmp:
        default = Path(tmp) / "nodelay-false.conf"
        default.write_text(DEPLOY_CONF.read_text().replace("set_tcp_nodelay true", "set_tcp_nodelay false"))
        ours = rates(DEPLOY_CONF, args.messages, protocol, Path(tmp) / "a")
        theirs = rates(default, args.messages, protocol, Path(tmp) / "b")
    print(f"{args.messages} QoS 1 messages, MQTT {args.protocol}: acknowledged / delivered to a QoS 1 subscriber")
    print(f"deploy/mosquitto.conf (set_tcp_nodelay true)   {ours[0]:8.0f} / {ours[1]:8.0f} msg/s")
    print(f"the same with set_tcp_nodelay false (default)  {theirs[0]:8.0f} / {theirs[1]:8.0f} msg/s")


if __name__ == "__main__":
    main()
