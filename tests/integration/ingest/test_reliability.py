"""The ingestor against a real Mosquitto (our config) and a real PostgreSQL, while things break:
SIGKILLed ingestors, a restarted broker, a crashed database, two ingestors sharing a subscription.

Every scenario sends distinct signed messages and checks that the database holds every one of them
(``count(*) == sent``; ``(valve_id, seq)`` is the primary key, so none can be held twice), with no dead
letters and no seq gaps.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cylinder_trace.mqtt.protocol import EventType, build_event, encode, events_topic

from .helpers import secret_of
from .infra import (
    IngestProcess,
    PrivatePostgres,
    Publisher,
    RestartableMosquitto,
    counts_now,
    create_database,
    drop_database,
    prepare_database,
    wait_for_rows,
)

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
PROBE = "PROBE"


def valve_set(prefix: str, count: int) -> dict[str, bytes]:
    return {f"{prefix}{i:04d}": secret_of(f"{prefix}{i:04d}") for i in range(count)} | {PROBE: secret_of(PROBE)}


def stream(valves: dict[str, bytes], per_valve: int) -> list[tuple[str, bytes]]:
    """Interleaved valves, seq 1..per_valve each; mostly heartbeats, an opened/closed now and then."""
    out = []
    ids = [v for v in valves if v != PROBE]
    for seq in range(1, per_valve + 1):
        for valve_id in ids:
            if seq % 10 == 0:
                type_, data = (EventType.OPENED if seq % 20 else EventType.CLOSED), {}
            else:
                type_, data = EventType.HEARTBEAT, {"battery_pct": 100 - seq % 100, "rssi": -60}
            out.append((events_topic(valve_id), encode(build_event(valves[valve_id], valve_id, seq, NOW, type_,
                                                                   data))))
    return out


def probe(broker: RestartableMosquitto, url: str, seq: int = 1) -> None:
    """Publish one message and wait until it is stored: the subscription is in place."""
    payload = encode(build_event(secret_of(PROBE), PROBE, seq, NOW, EventType.HEARTBEAT,
                                 {"battery_pct": 1, "rssi": -1}))
    publisher = Publisher(broker.host, broker.port, [(events_topic(PROBE), payload)],
                          client_id=f"probe-{uuid.uuid4().hex[:6]}")
    publisher.start()
    try:
        publisher.wait(20)
        wait_for_rows(url, seq, 60)
    finally:
        publisher.close()


@pytest.fixture
def shared_pg() -> Iterator[tuple[str, str]]:
    """A fresh database on the shared server: (admin dsn, SQLAlchemy url)."""
    from tests.support.databases import PG_ADMIN_DSN

    name = f"ct_ingest_rel_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(PG_ADMIN_DSN, name))
    yield PG_ADMIN_DSN, PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    asyncio.run(drop_database(PG_ADMIN_DSN, name))


def assert_all_stored_once(url: str, expected: int) -> None:
    """Every distinct message sent is stored, with no gap in any valve's seq and nothing dead-lettered.
    (Stored once each by construction: ``(valve_id, seq)`` is the table's primary key, so what this
    shows is that nothing acknowledged was lost and no redelivery was refused.)"""
    time.sleep(1.0)  # anything late would land now
    final = counts_now(url)
    assert final is not None
    assert final.rows == expected, final
    assert final.dead_letters == 0, final
    assert final.missing == 0, final


def test_sigkill_of_the_ingestor_during_a_stream(broker: RestartableMosquitto, shared_pg: tuple[str, str],
                                                 tmp_path: Path) -> None:
    _, url = shared_pg
    valves = valve_set("K", 100)
    asyncio.run(prepare_database(url, valves))
    ingestor = IngestProcess(url, broker.url, "ct-ingest-kill", "5", tmp_path)
    ingestor.start()
    ingestor.wait_connected()
    probe(broker, url)
    messages = stream(valves, 200)
    publisher = Publisher(broker.host, broker.port, messages, rate=2000, client_id="pub-kill")
    publisher.start()
    try:
        for _ in range(4):
            time.sleep(2.0)
            ingestor.kill()
            ingestor.start()
        publisher.wait(120)
        wait_for_rows(url, len(messages) + 1, 180, alive=[ingestor])
        assert_all_stored_once(url, len(messages) + 1)
        assert ingestor.kills == 4 and len(messages) == 20_000
    finally:
        publisher.close()
        ingestor.kill()


def test_broker_restart_mid_stream(broker: RestartableMosquitto, shared_pg: tuple[str, str], tmp_path: Path) -> None:
    _, url = shared_pg
    valves = valve_set("B", 50)
    asyncio.run(prepare_database(url, valves))
    ingestor = IngestProcess(url, broker.url, "ct-ingest-311", "3.1.1", tmp_path)
    ingestor.start()
    ingestor.wait_connected()
    probe(broker, url)
    messages = stream(valves, 200)
    publisher = Publisher(broker.host, broker.port, messages, rate=2000, client_id="pub-broker")
    publisher.start()
    try:
        time.sleep(2.0)
        broker.restart()
        publisher.wait(120)
        wait_for_rows(url, len(messages) + 1, 120, alive=[ingestor])
        assert_all_stored_once(url, len(messages) + 1)
        assert ingestor.log().count("connected to") >= 2  # it did lose the broker and come back
    finally:
        publisher.close()
        ingestor.kill()


def test_postgres_crash_mid_stream(broker: RestartableMosquitto, tmp_path: Path) -> None:
    pg = PrivatePostgres()
    try:
        pg.start()
        asyncio.run(create_database(pg.dsn, "ct"))
        url = pg.url("ct")
        valves = valve_set("P", 50)
        asyncio.run(prepare_database(url, valves))
        ingestor = IngestProcess(url, broker.url, "ct-ingest-pg", "5", tmp_path)
        ingestor.start()
        ingestor.wait_connected()
        probe(broker, url)
        messages = stream(valves, 200)
        publisher = Publisher(broker.host, broker.port, messages, rate=2000, client_id="pub-pg")
        publisher.start()
        try:
            time.sleep(2.0)
            pg.crash()
            time.sleep(2.0)
            assert ingestor.alive
            pg.start()
            publisher.wait(120)
            wait_for_rows(url, len(messages) + 1, 120, alive=[ingestor])
            assert_all_stored_once(url, len(messages) + 1)
            assert "retrying in" in ingestor.log()  # it did see the database go away
        finally:
            publisher.close()
            ingestor.kill()
    finally:
        pg.destroy()


def test_two_ingestors_share_the_stream_and_one_is_killed(broker: RestartableMosquitto,
                                                          shared_pg: tuple[str, str], tmp_path: Path) -> None:
    _, url = shared_pg
    valves = valve_set("S", 50)
    asyncio.run(prepare_database(url, valves))
    first = IngestProcess(url, broker.url, "ct-ingest-a", "5", tmp_path)
    second = IngestProcess(url, broker.url, "ct-ingest-b", "5", tmp_path)
    for ingestor in (first, second):
        ingestor.start()
        ingestor.wait_connected()
    probe(broker, url)
    messages = stream(valves, 200)
    publisher = Publisher(broker.host, broker.port, messages, rate=2000, client_id="pub-shared", protocol="5")
    publisher.start()
    try:
        time.sleep(2.0)
        second.kill()
        time.sleep(2.0)
        second.start()
        publisher.wait(120)
        wait_for_rows(url, len(messages) + 1, 120, alive=[first, second])
        assert_all_stored_once(url, len(messages) + 1)
        stored = {}
        for ingestor in (first, second):
            assert ingestor.terminate() == 0
            found = re.findall(r"ingest stopped: (\d+) stored", ingestor.log())
            stored[ingestor.client_id] = int(found[-1])
        # the survivor took only part of the stream: the subscription was shared
        assert 0 < stored["ct-ingest-a"] < len(messages), stored
    finally:
        publisher.close()
        first.kill()
        second.kill()
