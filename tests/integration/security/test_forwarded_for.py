"""Hole 10: the report rate limit believes X-Forwarded-For only from CT_TRUSTED_PROXIES."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cylinder_trace.api.client_address import forwarded_client
from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import Services, build_services
from cylinder_trace.settings import Settings, parse_networks
from tests.conftest import ADMIN_TOKEN, Clock
from tests.support.server import free_port

REPORT = {"kind": "illegal_dealer", "description": "有人在路边卖气"}


async def reports_from(c: httpx.AsyncClient, addresses: list[str]) -> list[int]:
    return [(await c.post("/api/v1/reports", json=REPORT, headers={"X-Forwarded-For": a})).status_code
            for a in addresses]


def forged(n: int) -> list[str]:
    return [f"203.0.113.{i}" for i in range(1, n + 1)]


async def test_forged_addresses_do_not_lift_the_limit(client: httpx.AsyncClient) -> None:
    statuses = await reports_from(client, forged(20))
    assert statuses[:5] == [201] * 5 and set(statuses[5:]) == {429}


@pytest.fixture
async def behind_proxy(pg_url: str, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=pg_url, admin_token=ADMIN_TOKEN, embedded_broker=False, sweep_interval_s=0,
                        trusted_proxies="127.0.0.1, 10.0.0.0/8")
    services: Services = build_services(settings, clock=clock)
    transport = httpx.ASGITransport(app=create_app(settings, services), client=("10.1.2.3", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
    await services.close()


async def test_a_trusted_proxy_forwards_each_clients_address(behind_proxy: httpx.AsyncClient) -> None:
    assert await reports_from(behind_proxy, forged(8)) == [201] * 8
    # the same client behind the proxy is limited, whatever it writes in front of the proxy's entry
    statuses = await reports_from(behind_proxy, [f"198.51.100.{i}, 192.0.2.7" for i in range(6)])
    assert statuses == [201] * 5 + [429]


def test_the_client_is_the_rightmost_address_that_is_no_trusted_proxy() -> None:
    proxies = parse_networks("10.0.0.0/8, 127.0.0.1")
    assert forwarded_client("203.0.113.9", ["1.2.3.4"], proxies) == "203.0.113.9"
    assert forwarded_client("127.0.0.1", ["1.2.3.4, 5.6.7.8, 10.0.0.2"], proxies) == "5.6.7.8"
    assert forwarded_client("127.0.0.1", [], proxies) == "127.0.0.1"
    assert forwarded_client("127.0.0.1", [], parse_networks("")) == "127.0.0.1"
    with pytest.raises(ValueError, match="not an address"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example")


def _serve(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port, mqtt_port = free_port(), free_port()
    env = {**os.environ, "CT_DATABASE_URL": url, "CT_ADMIN_TOKEN": ADMIN_TOKEN, "CT_SWEEP_INTERVAL_S": "0",
           "CT_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}"}
    env.pop("CT_TRUSTED_PROXIES", None)
    log = (workdir / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "cylinder_trace.cli", "serve", "--port", str(port)],
                               env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def _up(process: subprocess.Popen[bytes], base: str, workdir: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError((workdir / "serve.log").read_text())
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "serve did not answer within 60 s"
        time.sleep(0.2)


async def test_serve_believes_no_forwarding_header_by_default(pg_url: str, tmp_path: Path) -> None:
    """uvicorn would believe X-Forwarded-For from a local peer; ``serve`` leaves that to the app."""
    process, base = _serve(pg_url, tmp_path)
    try:
        await asyncio.to_thread(_up, process, base, tmp_path)
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            statuses = await reports_from(c, forged(7))
        assert statuses == [201] * 5 + [429] * 2
    finally:
        process.terminate()
        process.wait(20)
