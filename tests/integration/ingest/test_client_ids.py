"""Two processes on one host never connect with the same MQTT client id (a broker drops the older of
two connections with one id, and the two then take turns dropping each other): each claims a numbered
id held for its life, and an id given explicitly is refused while another process holds it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cylinder_trace.app.client_ids import ClientIdTaken, claim_exact, claim_numbered
from cylinder_trace.store.db import create_engine
from tests.conftest import ADMIN_TOKEN
from tests.support.mosquitto import RunningMosquitto, mosquitto_fixture
from tests.support.server import running_api

from .infra import REPO

mosquitto = mosquitto_fixture(scope="module")


async def test_numbered_ids_are_the_lowest_free_and_come_back_when_released(db_url: str) -> None:
    engines: list[AsyncEngine] = [create_engine(db_url), create_engine(db_url)]  # as two processes would
    try:
        first = await claim_numbered(engines[0], "ct-ingest-h")
        second = await claim_numbered(engines[1], "ct-ingest-h")
        assert (first.client_id, second.client_id) == ("ct-ingest-h-0", "ct-ingest-h-1")
        with pytest.raises(ClientIdTaken, match=r"ct-ingest-h-1.*in use by another process"):
            await claim_exact(engines[0], "ct-ingest-h-1", wait_s=0.3)
        await first.release()  # the process stopped: its id is free, and the next one to start takes it
        again = await claim_numbered(engines[0], "ct-ingest-h")
        assert again.client_id == "ct-ingest-h-0"
        other = await claim_numbered(engines[0], "ct-ingest-other-h")  # another base counts on its own
        assert other.client_id == "ct-ingest-other-h-0"
        for held in (second, again, other):
            await held.release()
    finally:
        for engine in engines:
            await engine.dispose()


def test_two_services_on_one_host_keep_their_own_connections(
    pg_url: str, mosquitto: RunningMosquitto, tmp_path: Path,
) -> None:
    env = {"CT_MQTT_URL": mosquitto.url, "CT_MQTT_PROTOCOL": "5", "CT_LOG_LEVEL": "INFO"}
    with ExitStack() as stack:
        bases = [stack.enter_context(running_api(pg_url, ADMIN_TOKEN, tmp_path, **env)) for _ in range(2)]
        ready = {base: 0 for base in bases}
        for _ in range(60):  # both ready, and still ready three seconds on
            for base in bases:
                ok = httpx.get(f"{base}/readyz", timeout=5).status_code == 200
                ready[base] = ready[base] + 1 if ok else 0
            if min(ready.values()) >= 12:
                break
            time.sleep(0.25)
        log = mosquitto.log()
        assert min(ready.values()) >= 12, (ready, log)
    connected = set(re.findall(r"as (ct-ingest-(?:serve|commands)-\S+-\d+) ", log))
    assert len({i for i in connected if "-serve-" in i}) == 2 and len({i for i in connected if "-commands-" in i}) == 2
    assert "already connected" not in log, log


def test_an_explicit_client_id_held_by_another_ingestor_is_refused(
    pg_url: str, mosquitto: RunningMosquitto, tmp_path: Path,
) -> None:
    env = {**os.environ, "CT_DATABASE_URL": pg_url, "CT_MQTT_URL": mosquitto.url, "CT_EMBEDDED_BROKER": "false",
           "CT_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "cylinder_trace.cli", "ingest", "--client-id", "ct-test-twice"]
    with (tmp_path / "first.log").open("wb") as log:
        first = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            if "as ct-test-twice" in (tmp_path / "first.log").read_text():
                break
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            time.sleep(0.1)
        second = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 2, second.stderr
        assert "'ct-test-twice' is in use by another process" in second.stderr
        assert first.poll() is None  # the first one was not disturbed
    finally:
        first.terminate()
        first.wait(30)
    assert "already connected" not in mosquitto.log()
