from __future__ import annotations

import pytest

from cylinder_trace.mqtt.url import MqttUrl, parse_mqtt_url


def test_mqtt_urls() -> None:
    assert parse_mqtt_url("mqtt://127.0.0.1:18830") == MqttUrl("127.0.0.1", 18830)
    assert parse_mqtt_url("mqtt://broker.example") == MqttUrl("broker.example", 1883)
    assert parse_mqtt_url("mqtts://broker.example") == MqttUrl("broker.example", 8883, tls=True)
    assert str(parse_mqtt_url("mqtt://h:1")) == "mqtt://h:1"


@pytest.mark.parametrize("bad", ["http://h:1", "mqtt://", "mqtt://h:99999", "mqtt://h:1/x", "127.0.0.1:1883"])
def test_bad_mqtt_urls(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_mqtt_url(bad)
