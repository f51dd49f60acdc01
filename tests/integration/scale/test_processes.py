"""Several processes on one PostgreSQL and one broker: two API processes (each running its own MQTT side,
as ``serve`` does) and two ``cylinder-trace ingest`` processes sharing the subscription (MQTT 5), under
load from station and delivery work over HTTP and from smart valves over MQTT, writing to the same
cylinders' streams at once. One ingestor is SIGKILLed in the middle and started again.

Afterwards: every valve message is stored once; every lifecycle message is in its cylinder's history
exactly once; every HTTP command answered 2xx is stored; positions run without a gap; every stream's
chain verifies and the projections end where the streams end.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from cylinder_trace.domain.events import cylinder_stream
from cylinder_trace.mqtt.protocol import EventType, build_event, encode, events_topic
from cylinder_trace.store import event_store as es
from tests.integration.ingest.helpers import secret_of
from tests.integration.ingest.infra import (
    IngestProcess,
    Publisher,
    RestartableMosquitto,
    counts_now,
    create_database,
    drop_database,
    prepare_database,
    wait_for_rows,
)
from tests.support import factories as f
from tests.support.databases import PG_ADMIN_DSN
from tests.support.server import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.broker]

ADMIN = "processes-admin-token"
VALVES = 30
PER_VALVE = 120
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture
def database() -> Iterator[str]:
    name = f"ct_processes_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(PG_ADMIN_DSN, name))
    yield PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    asyncio.run(drop_database(PG_ADMIN_DSN, name))


class Api:
    """The API with its MQTT side (ingestor and command relay), as ``serve`` runs it, in a subprocess."""

    def __init__(self, url: str, mqtt_url: str, name: str, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CT_DATABASE_URL": url, "CT_ADMIN_TOKEN": ADMIN, "CT_EMBEDDED_BROKER": "false",
               "CT_MQTT_URL": mqtt_url, "CT_MQTT_CLIENT_ID": f"ct-{name}", "CT_SWEEP_INTERVAL_S": "0"}
        self.log_path = workdir / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "cylinder_trace.api.main:create_app", "--host",
                 "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{name} did not become ready:\n{self.log_path.read_text()}"
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def valve_messages(valves: list[str]) -> tuple[list[tuple[str, bytes]], set[tuple[str, int]]]:
    """Each valve's seq 1..PER_VALVE, interleaved: heartbeats, with an opened or closed every third."""
    out, lifecycle = [], set()
    for seq in range(1, PER_VALVE + 1):
        for valve_id in valves:
            if seq % 3 == 0:
                type_, data = (EventType.OPENED if seq % 2 else EventType.CLOSED), {}
                lifecycle.add((valve_id, seq))
            else:
                type_, data = EventType.HEARTBEAT, {"battery_pct": 90, "rssi": -60}
            out.append((events_topic(valve_id), encode(build_event(secret_of(valve_id), valve_id, seq, NOW, type_,
                                                                   data))))
    return out, lifecycle


async def setup_town(base: str, valves: list[str]) -> list[str]:
    """Station, staff, a household and a vehicle; a cylinder per valve, the valve fitted to it."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30) as c:
        await f.station(c)
        await f.staff(c, "F1", "filler")
        await f.staff(c, "D1", "delivery_worker")
        await f.vehicle(c)
        await f.customer(c)
        codes = []
        for valve_id in valves:
            code = (await f.cylinder(c))["code"]
            fitted = await c.post(f"/api/v1/cylinders/{code}/valve", json={
                "event_id": str(uuid.uuid4()), "valve_id": valve_id, "occurred_at": "2026-11-20T09:00:00+08:00"})
            assert fitted.status_code == 201, fitted.text
            codes.append(code)
        return codes


def work(bases: list[str], codes: list[str], answers: dict[str, int], stop: threading.Event) -> None:
    """Fill, deliver and collect each cylinder round after round, through both APIs at once."""
    async def one_cylinder(code: str, base: str) -> None:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60) as c:
            day = 0
            while not stop.is_set():
                day += 1
                at = f"2026-11-28T{8 + day % 10:02d}:00:00+08:00"
                for response in (await f.fill(c, code, at=at), await f.deliver(c, code, at=at),
                                 await c.post("/api/v1/collections", json={
                                     "event_id": str(uuid.uuid4()), "code": code, "customer_id": "U1",
                                     "worker_id": "D1", "occurred_at": at})):
                    answers[json.loads(response.request.content)["event_id"]] = response.status_code

    async def everything() -> None:
        await asyncio.gather(*(one_cylinder(code, bases[i % len(bases)]) for i, code in enumerate(codes)))

    asyncio.run(everything())


async def check_store(url: str, lifecycle: set[tuple[str, int]], answered: dict[str, int],
                      codes: list[str]) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        positions = [r[0] for r in await conn.fetch("SELECT position FROM events ORDER BY position")]
        assert positions == list(range(1, len(positions) + 1)), "positions have a gap or a repeat"
        reports = await conn.fetch("SELECT data::jsonb->>'valve_id' AS valve, (data::jsonb->>'seq')::int AS seq "
                                   "FROM events WHERE type = 'ValveReported'")
        seen = [(r["valve"], r["seq"]) for r in reports]
        assert len(seen) == len(set(seen)), "a valve message is in a history twice"
        assert set(seen) == lifecycle, f"{len(lifecycle - set(seen))} lifecycle messages are in no history"
        stored = {r[0] for r in await conn.fetch("SELECT event_id FROM events")}
        ok = {event_id for event_id, status in answered.items() if status < 300}
        assert ok and ok <= stored, f"{len(ok - stored)} commands answered 2xx are not stored"
        heads = {r["stream_id"]: (r["version"], r["head_hash"]) for r in await conn.fetch("SELECT * FROM streams")}
        projected = {cylinder_stream(r["code"]): (r["version"], r["head_hash"])
                     for r in await conn.fetch("SELECT code, version, head_hash FROM cylinders")}
        assert all(heads[s] == head for s, head in projected.items())
    finally:
        await conn.close()
    from cylinder_trace.store.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as c:
            for code in codes:
                stream = await es.read_stream(c, cylinder_stream(code))
                assert es.verify_chain(stream).valid, code
                assert heads[cylinder_stream(code)] == (stream[-1].version, stream[-1].hash)
    finally:
        await engine.dispose()


def test_two_apis_and_two_ingestors_on_one_store(broker: RestartableMosquitto, database: str,
                                                 tmp_path: Path) -> None:
    url = database
    valves = [f"M{i:03d}" for i in range(VALVES)]
    asyncio.run(prepare_database(url, {v: secret_of(v) for v in valves} | {"PROBE": secret_of("PROBE")}))
    apis = [Api(url, broker.url, f"api-{n}", tmp_path) for n in (1, 2)]
    ingestors = [IngestProcess(url, broker.url, f"ct-ingest-{n}", "5", tmp_path) for n in ("a", "b")]
    answers: dict[str, Any] = {}
    stop = threading.Event()
    worker: threading.Thread | None = None
    publisher: Publisher | None = None
    try:
        codes = asyncio.run(setup_town(apis[0].base, valves))
        for ingestor in ingestors:
            ingestor.start()
            ingestor.wait_connected()
        messages, lifecycle = valve_messages(valves)
        worker = threading.Thread(target=work, args=([a.base for a in apis], codes, answers, stop), daemon=True)
        worker.start()
        publisher = Publisher(broker.host, broker.port, messages, rate=1500, client_id="pub-processes",
                              protocol="5")
        publisher.start()
        time.sleep(1.5)
        ingestors[1].kill()
        time.sleep(1.5)
        ingestors[1].start()
        publisher.wait(120)
        wait_for_rows(url, len(messages), 180, alive=ingestors)
        stop.set()
        worker.join(120)
        assert not worker.is_alive()
        final = counts_now(url)
        assert final is not None and final.rows == len(messages) and final.dead_letters == 0 and final.missing == 0
        assert ingestors[1].kills == 1
        assert len(answers) > 3 * len(codes), "the HTTP load did not run alongside"
        assert {s for s in answers.values()} <= {201, 422}, answers
        asyncio.run(check_store(url, lifecycle, answers, codes))
    finally:
        stop.set()
        if publisher is not None:
            publisher.close()
        for ingestor in ingestors:
            ingestor.kill()
        for api in apis:
            api.stop()
