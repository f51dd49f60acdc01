"""SIGKILL of the API process while group commits are in flight, on PostgreSQL.

Many clients write at once (fills that are accepted, fills that break a rule and are stored as
refusals, fills that name an unknown station and are refused as bad input); the process is killed in the
middle. Afterwards: every command answered 2xx is stored with its answer; a command answered as bad
input left nothing behind; a rule refusal left its refusal event; a command whose answer never came is
either wholly stored or not at all; positions have no gap; every chain verifies, and the projections
agree with the streams once the service is up again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from cylinder_trace.domain.canonical import ZERO_HASH
from cylinder_trace.store.migrate import upgrade
from tests.support import factories as f
from tests.support.server import free_port

pytestmark = pytest.mark.postgres

ADMIN = "crash-admin-token"
CYLINDERS = 300


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def start_api(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "CT_DATABASE_URL": url, "CT_ADMIN_TOKEN": ADMIN, "CT_EMBEDDED_BROKER": "false",
           "CT_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}", "CT_SWEEP_INTERVAL_S": "0"}
    log = (workdir / f"api-{port}.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "cylinder_trace.api.main:create_app",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, (workdir / f"api-{port}.log").read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the API did not come up"
        time.sleep(0.1)


def fill_body(code: str, station: str = "S1", mass: float = 14.5) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "code": code, "station_id": station, "filler_id": "F1",
            "occurred_at": "2026-11-28T09:00:00+08:00", "net_mass_kg": mass,
            "checks": {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True}}


async def test_a_killed_api_loses_nothing_it_answered_and_keeps_nothing_it_refused(pg_url: str,
                                                                                    tmp_path: Path) -> None:
    await asyncio.to_thread(upgrade, pg_url)
    proc, base = start_api(pg_url, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30) as c:
            await f.town(c)
            codes = [(await f.cylinder(c))["code"] for _ in range(CYLINDERS)]
        bodies: list[tuple[str, dict[str, Any]]] = []
        for i, code in enumerate(codes):
            kind = ("bad_input", fill_body(code, station="NO-SUCH-STATION")) if i % 10 == 3 else \
                   ("refused", fill_body(code, mass=99.0)) if i % 10 == 7 else ("accepted", fill_body(code))
            bodies.append(kind)
        answers: dict[str, int | None] = {}
        killed = asyncio.Event()
        a_third_answered = asyncio.Event()

        async def client(mine: list[tuple[str, dict[str, Any]]]) -> None:
            async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"},
                                         timeout=30) as c:
                for _, body in mine:
                    if killed.is_set():
                        answers[body["event_id"]] = None
                        continue
                    try:
                        answers[body["event_id"]] = (await c.post("/api/v1/fills", json=body)).status_code
                    except httpx.TransportError:
                        answers[body["event_id"]] = None
                    if sum(1 for a in answers.values() if a is not None) >= CYLINDERS // 3:
                        a_third_answered.set()

        async def killer() -> None:
            await a_third_answered.wait()
            os.kill(proc.pid, signal.SIGKILL)
            killed.set()

        await asyncio.gather(killer(), *(client(bodies[k::32]) for k in range(32)))
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()

    answered = {k: v for k, v in answers.items() if v is not None}
    assert CYLINDERS // 3 <= len(answered) < CYLINDERS, "the kill came after every answer: nothing was in flight"
    conn = await asyncpg.connect(plain(pg_url))
    try:
        stored = {r["event_id"]: r["type"] for r in await conn.fetch("SELECT event_id, type FROM events")}
        logged = {r["event_id"]: r["status_code"] for r in await conn.fetch("SELECT event_id, status_code FROM "
                                                                            "command_log")}
        positions = [r["position"] for r in await conn.fetch("SELECT position FROM events ORDER BY position")]
        stream_ids = [r["stream_id"] for r in await conn.fetch("SELECT DISTINCT stream_id FROM events")]
    finally:
        await conn.close()
    for kind, body in bodies:
        event_id, status = body["event_id"], answers.get(body["event_id"])
        if status is None:  # never answered: all or nothing
            assert (event_id in stored) == (event_id in logged), event_id
            continue
        if kind == "accepted":
            assert status == 201 and stored.get(event_id) == "CylinderFilled" and logged[event_id] == 201
        elif kind == "refused":
            assert status == 422 and stored.get(event_id) == "FillRefused" and logged[event_id] == 422
        else:
            assert status == 422 and event_id not in stored and event_id not in logged
    assert positions == list(range(1, len(positions) + 1)), "positions have a gap or a repeat"

    proc, base = start_api(pg_url, tmp_path)  # up again: the projections agree with the streams
    try:
        engine_conn = await asyncpg.connect(plain(pg_url))
        try:
            heads = {r["stream_id"]: (r["version"], r["head_hash"])
                     for r in await engine_conn.fetch("SELECT * FROM streams")}
            projected = {f"cylinder:{r['code']}": (r["version"], r["head_hash"])
                         for r in await engine_conn.fetch("SELECT code, version, head_hash FROM cylinders")}
        finally:
            await engine_conn.close()
        assert set(heads) == set(stream_ids)
        assert all(heads[s] == v for s, v in projected.items())
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30) as c:
            for code in codes[::25]:
                verdict = (await c.get(f"/api/v1/cylinders/{code}/verify")).json()
                assert verdict["valid"], verdict
            history = json.loads((await c.get(f"/api/v1/cylinders/{codes[0]}/history")).text)
            assert history["events"][0]["prev_hash"] == ZERO_HASH
    finally:
        proc.terminate()
        proc.wait(10)
