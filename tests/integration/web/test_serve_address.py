"""``make run`` (``cylinder-trace serve``) says where the landing page is, and the page is there."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from cylinder_trace.cli import landing_url
from tests.support.mosquitto import free_port
from tests.support.server import running_process

REPO = Path(__file__).resolve().parents[3]


def test_the_landing_address() -> None:
    assert landing_url("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert landing_url("0.0.0.0", 8080) == "http://127.0.0.1:8080/"
    assert landing_url("::1", 9000) == "http://[::1]:9000/"


def test_serve_prints_the_landing_page_address(tmp_path: Path) -> None:
    http_port, mqtt_port = free_port(), free_port()
    env = {**os.environ, "CT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ct.sqlite3'}",
           "CT_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}", "CT_SWEEP_INTERVAL_S": "0", "CT_EMBEDDED_BROKER": "true"}
    address = f"http://127.0.0.1:{http_port}/"
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "cylinder_trace.cli", "serve", "--port", str(http_port)]
    with running_process(command, env, address.rstrip("/"), log, REPO, startup_s=60):
        landing = httpx.get(address, timeout=10)
        assert landing.status_code == 200 and 'href="/signin"' in landing.text
        assert f"cylinder-trace on {address}" in log.read_text()
