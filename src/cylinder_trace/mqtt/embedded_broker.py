"""An in-process MQTT broker (amqtt) for the one-command default: ``serve`` needs no Mosquitto.

Limits to know: amqtt speaks MQTT 3.1.1 only (no shared subscriptions, no MQTT 5 properties), keeps
nothing on disk, and drops the sessions of anonymous clients when they disconnect. It is for a
laptop or a demo; a deployment runs Mosquitto with ``deploy/mosquitto.conf``.

Usage::

    async with embedded_broker("mqtt://127.0.0.1:18830"):
        ...  # clients connect with MQTTv311

or ``broker = await start_embedded_broker(url)`` … ``await stop_embedded_broker(broker)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from amqtt.broker import Broker

from cylinder_trace.mqtt.url import parse_mqtt_url


def broker_config(host: str, port: int) -> dict[str, Any]:
    """amqtt configuration: one TCP listener, anonymous clients allowed, no ``$SYS`` or packet logging."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def start_embedded_broker(url: str) -> Broker:
    """Start listening on the host and port of ``url`` (``mqtt://`` only); returns the running broker."""
    address = parse_mqtt_url(url)
    if address.tls:
        raise ValueError("the embedded broker listens on plain mqtt:// only")
    broker = Broker(broker_config(address.host, address.port))
    await broker.start()
    return broker


async def stop_embedded_broker(broker: Broker) -> None:
    await broker.shutdown()


@asynccontextmanager
async def embedded_broker(url: str) -> AsyncIterator[Broker]:
    broker = await start_embedded_broker(url)
    try:
        yield broker
    finally:
        await stop_embedded_broker(broker)
