"""Broker addresses: ``mqtt://host:port`` (plain TCP) or ``mqtts://host:port`` (TLS)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True)
class MqttUrl:
    host: str
    port: int
    tls: bool = False

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttUrl:
    """``mqtt://127.0.0.1:18830`` → ``MqttUrl("127.0.0.1", 18830)``; raises ``ValueError`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError(f"{url!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"{url!r}: no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{url!r}: only scheme, host and port are understood")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r}: bad port") from None
    return MqttUrl(parts.hostname, port or _DEFAULT_PORTS[parts.scheme], tls=parts.scheme == "mqtts")
