"""Whatever arrives, the ingestor dead-letters what it cannot accept and keeps storing the rest:
Hypothesis-generated garbage (bad JSON, wrong types, huge, wrong MAC, unknown valve, unknown type)
published through a real Mosquitto to a running ``cylinder-trace ingest``.

Also end to end: PROTOCOL.md's test vector is stored, and a valve signing with the wrong secret is refused.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cylinder_trace.mqtt.protocol import EventType, build_event, encode, events_topic, sign_message

from .helpers import secret_of
from .infra import (
    Counts,
    IngestProcess,
    Publisher,
    RestartableMosquitto,
    counts_now,
    create_database,
    drop_database,
    prepare_database,
    wait_until,
)

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
GOOD = "G0001"
VECTOR_VALVE = "V0000001"
VECTOR_SECRET = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
VECTOR = (b'{"v":1,"valve_id":"V0000001","seq":42,"ts":"2026-11-28T10:00:00.000Z","type":"fill_completed",'
          b'"data":{"auth_id":"3f2b8c1e-7d4a-4b6e-9c2d-1a5e8f7b6c3d","mass_kg":14.5},'
          b'"mac":"020a66c3d49bcf673ac708b8ce2801ba54d6b48af04cd6728311a1fe7061723c"}')
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RestartableMosquitto, str, IngestProcess]]:
    from tests.support.databases import PG_ADMIN_DSN

    name = f"ct_ingest_garbage_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(PG_ADMIN_DSN, name))
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    asyncio.run(prepare_database(url, {GOOD: secret_of(GOOD), "W0001": secret_of("W0001"),
                                       VECTOR_VALVE: VECTOR_SECRET}))
    broker = RestartableMosquitto()
    broker.start()
    ingestor = IngestProcess(url, broker.url, "ct-ingest-garbage", "5", tmp_path_factory.mktemp("ingest"))
    ingestor.start()
    ingestor.wait_connected()
    try:
        yield broker, url, ingestor
    finally:
        ingestor.kill()
        broker.destroy()
        asyncio.run(drop_database(PG_ADMIN_DSN, name))


def publish(broker: RestartableMosquitto, messages: list[tuple[str, bytes]]) -> None:
    publisher = Publisher(broker.host, broker.port, messages, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    publisher.start()
    try:
        publisher.wait(30)
    finally:
        publisher.close()


def good_message() -> tuple[str, bytes]:
    body = build_event(secret_of(GOOD), GOOD, next(_seq), NOW, EventType.HEARTBEAT, {"battery_pct": 50, "rssi": -70})
    return events_topic(GOOD), encode(body)


def wait_counts(url: str, rows: int, dead: int, ingestor: IngestProcess) -> Counts:
    found: list[Counts | None] = [None]

    def reached() -> bool:
        assert ingestor.alive, ingestor.log()[-3000:]
        found[0] = counts_now(url)
        return found[0] is not None and found[0].rows >= rows and found[0].dead_letters >= dead

    try:
        wait_until(reached, 60, f"{rows} stored and {dead} dead letters", interval=0.1)
    except Exception:
        raise AssertionError(f"expected {rows} stored, {dead} dead letters; found {found[0]}") from None
    time.sleep(0.3)
    final = counts_now(url)
    assert final is not None
    return final


# --- garbage, by construction never acceptable -----------------------------------------------------------

def _signed(valve_id: str, body: dict[str, Any], secret: bytes | None = None) -> bytes:
    return json.dumps(sign_message(secret or secret_of(valve_id), body), ensure_ascii=False).encode()


def _valid_body(valve_id: str = GOOD) -> dict[str, Any]:
    return {"v": 1, "valve_id": valve_id, "seq": 10**9 + next(_seq), "ts": "2026-11-28T02:00:00.000Z",
            "type": "leak", "data": {"ppm": 5}}


not_json = st.binary(max_size=300).map(lambda b: b"{" + b.replace(b"}", b""))  # an object never closed
not_utf8 = st.binary(min_size=1, max_size=50).map(lambda b: b'{"v":1,"x":"\xff\xfe' + b + b'"}')
wrong_types = st.tuples(
    st.sampled_from(["v", "seq", "ts", "type", "data", "valve_id"]),
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.lists(st.integers(),
              max_size=3), st.just("7")),
).map(lambda kv: _signed(GOOD, {**_valid_body(), kv[0]: kv[1]}))
huge = st.integers(4097, 40_000).map(lambda n: _signed(GOOD, {**_valid_body(), "data": {"ppm": 5, "pad": "x" * n}}))
wrong_mac = st.binary(min_size=32, max_size=32).filter(lambda k: k != secret_of(GOOD)).map(
    lambda key: _signed(GOOD, _valid_body(), secret=key))
unknown_valve = st.from_regex(r"[A-Z][0-9]{6}", fullmatch=True).filter(
    lambda v: v not in (GOOD, "W0001", VECTOR_VALVE)).map(lambda v: (v, _signed(v, _valid_body(v))))
unknown_type = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20).filter(
    lambda t: t not in {e.value for e in EventType}).map(lambda t: _signed(GOOD, {**_valid_body(), "type": t}))

garbage = st.one_of(
    not_json.map(lambda p: (GOOD, p)), not_utf8.map(lambda p: (GOOD, p)), wrong_types.map(lambda p: (GOOD, p)),
    huge.map(lambda p: (GOOD, p)), wrong_mac.map(lambda p: (GOOD, p)), unknown_valve,
    unknown_type.map(lambda p: (GOOD, p)),
)


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(junk=st.lists(garbage, min_size=1, max_size=25))
def test_garbage_is_dead_lettered_and_good_messages_still_stored(
    stack: tuple[RestartableMosquitto, str, IngestProcess], junk: list[tuple[str, bytes]],
) -> None:
    broker, url, ingestor = stack
    before = counts_now(url)
    assert before is not None
    messages = [(events_topic(valve_id), payload) for valve_id, payload in junk]
    messages.insert(len(messages) // 2, good_message())
    messages.append(good_message())
    publish(broker, messages)
    after = wait_counts(url, before.rows + 2, before.dead_letters + len(junk), ingestor)
    assert after.rows == before.rows + 2
    assert after.dead_letters == before.dead_letters + len(junk)
    assert ingestor.alive


def test_the_protocol_test_vector_is_stored(stack: tuple[RestartableMosquitto, str, IngestProcess]) -> None:
    broker, url, ingestor = stack
    before = counts_now(url)
    assert before is not None
    publish(broker, [(events_topic(VECTOR_VALVE), VECTOR)])
    wait_counts(url, before.rows + 1, before.dead_letters, ingestor)

    async def stored() -> asyncpg.Record:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return await conn.fetchrow("SELECT * FROM valve_messages WHERE valve_id = $1", VECTOR_VALVE)
        finally:
            await conn.close()

    row = asyncio.run(stored())
    assert (row["seq"], row["type"], row["payload"]) == (42, "fill_completed", VECTOR)
    assert row["digest"] == "020a66c3d49bcf673ac708b8ce2801ba54d6b48af04cd6728311a1fe7061723c"


def test_a_valve_with_the_wrong_secret_is_refused(stack: tuple[RestartableMosquitto, str, IngestProcess]) -> None:
    broker, url, ingestor = stack
    before = counts_now(url)
    assert before is not None
    impostor = build_event(secret_of("someone else"), "W0001", 1, NOW, EventType.REFILL_DETECTED, {"delta_kg": 2})
    publish(broker, [(events_topic("W0001"), encode(impostor)), good_message()])
    after = wait_counts(url, before.rows + 1, before.dead_letters + 1, ingestor)
    assert after.rows == before.rows + 1  # only the good one
    assert after.dead_by_kind.get("bad_mac", 0) == before.dead_by_kind.get("bad_mac", 0) + 1
