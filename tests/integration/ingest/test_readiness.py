"""``/readyz``: the database always; the broker too when the process runs the MQTT side (``serve``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import build_services
from cylinder_trace.runtime import Runtime
from cylinder_trace.settings import Settings
from tests.conftest import Clock
from tests.support.mosquitto import RunningMosquitto, free_port, mosquitto_fixture

mosquitto = mosquitto_fixture(scope="module")


@asynccontextmanager
async def running(settings: Settings, clock: Clock, mqtt_url: str) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    services = build_services(settings.model_copy(update={"mqtt_url": mqtt_url, "mqtt_protocol": "5"}),
                              clock=clock)
    runtime = Runtime(services, relay=False, schedule=False)
    app = create_app(services.settings, services, runtime=False)
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield runtime, client
    finally:
        await runtime.stop()
        await services.close()


async def test_without_the_mqtt_side_readiness_is_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"database": "ok"}}


async def test_an_unreachable_broker_makes_the_service_not_ready(settings: Settings, clock: Clock) -> None:
    async with running(settings, clock, f"mqtt://127.0.0.1:{free_port()}") as (runtime, client):
        await asyncio.sleep(0.5)  # the ingestor has tried to connect
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"ready": False, "checks": {"database": "ok", "broker": "unreachable"}}
    assert "broker" not in runtime.services.readiness_probes  # stopped: no MQTT side to be ready for


async def test_the_service_is_ready_once_the_ingestor_is_connected(
    settings: Settings, clock: Clock, mosquitto: RunningMosquitto
) -> None:
    async with running(settings, clock, mosquitto.url) as (runtime, client):
        assert runtime.ingestor is not None
        assert await asyncio.to_thread(runtime.ingestor.connected.wait, 20)
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"ready": True, "checks": {"database": "ok", "broker": "ok"}}
