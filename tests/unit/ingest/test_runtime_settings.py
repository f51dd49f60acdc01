"""What ``serve`` does with the default settings: an embedded broker on 127.0.0.1:18830, MQTT 3.1.1."""

from __future__ import annotations

import gc

from cylinder_trace.runtime import (
    GC_YOUNG_THRESHOLD,
    default_client_id,
    ingest_options,
    is_local,
    mqtt_protocol,
    tune_gc_for_streaming,
    uses_embedded_broker,
)
from cylinder_trace.settings import Settings


def test_the_default_is_the_embedded_broker_over_mqtt_311() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.mqtt_url == "mqtt://127.0.0.1:18830"
    assert uses_embedded_broker(settings)
    assert mqtt_protocol(settings) == "3.1.1"
    options = ingest_options(settings)
    assert (options.url, options.protocol) == ("mqtt://127.0.0.1:18830", "3.1.1")


def test_a_real_broker_keeps_the_configured_protocol() -> None:
    settings = Settings(_env_file=None, mqtt_url="mqtt://broker.example:1883", mqtt_protocol="5")  # type: ignore[call-arg]
    assert not uses_embedded_broker(settings) and mqtt_protocol(settings) == "5"
    off = Settings(_env_file=None, embedded_broker=False, mqtt_protocol="5")  # type: ignore[call-arg]
    assert not uses_embedded_broker(off) and mqtt_protocol(off) == "5"


def test_local_addresses_and_client_ids() -> None:
    assert is_local("mqtt://localhost:1") and is_local("mqtt://127.0.0.2:1") and not is_local("mqtt://10.0.0.1:1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    first, again = default_client_id(settings), default_client_id(settings)
    assert first == again and first.startswith("ct-ingest-") and "serve" not in first
    assert default_client_id(settings, "serve") != first


def test_streaming_processes_collect_the_young_generation_less_often() -> None:
    before = gc.get_threshold()
    try:
        tune_gc_for_streaming()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0  # what start-up made is out of the collector's scans
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
