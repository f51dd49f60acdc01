"""The ingestor under load against a real Mosquitto and PostgreSQL: the keep-alive holds while a batch
takes longer to commit than the broker waits for a sign of life, and what a valve sent in ``seq`` order
reaches its cylinder's history in that order, with several batches in hand and one of them retried."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.app.tx import Tx
from cylinder_trace.app.valve_batches import BatchOutcome, Verified, write_batch
from cylinder_trace.ingest.ingestor import IngestOptions, Ingestor
from cylinder_trace.mqtt.protocol import events_topic
from cylinder_trace.store.tables import valve_messages
from tests.support import factories as f
from tests.support.mosquitto import RunningMosquitto, mosquitto_fixture

from .helpers import signed, smart_cylinder, valve
from .infra import Publisher

pytestmark = [pytest.mark.postgres, pytest.mark.broker]
mosquitto = mosquitto_fixture(scope="module")


async def stored(services: Services) -> int:
    async with services.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(valve_messages))).scalar_one())


async def wait_stored(services: Services, ingestor: Ingestor, task: asyncio.Task[None], expected: int) -> None:
    for _ in range(1200):  # two minutes
        if task.done():
            task.result()  # the ingestor stopped: say why
        if await stored(services) >= expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{await stored(services)} of {expected} stored; {ingestor.stats}")


@contextlib.asynccontextmanager
async def ingesting(ingestor: Ingestor) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(ingestor.run())
    try:
        assert await asyncio.to_thread(ingestor.connected.wait, 20), "the ingestor did not connect"
        await asyncio.sleep(0.3)  # subscribed
        yield task
    finally:
        ingestor.stop()
        await asyncio.wait_for(task, 60)


async def publish_and_store(services: Services, ingestor: Ingestor, mosquitto: RunningMosquitto,
                            messages: list[tuple[str, bytes]], publisher_id: str) -> None:
    """Run the ingestor, publish ``messages`` (MQTT 5, QoS 1) and wait until every one is stored."""
    async with ingesting(ingestor) as task:
        publisher = Publisher(mosquitto.host, mosquitto.port, messages, client_id=publisher_id, protocol="5")
        publisher.start()
        try:
            await asyncio.to_thread(publisher.wait, 60)
            await wait_stored(services, ingestor, task, len(messages))
        finally:
            publisher.close()


Write = Callable[[Verified], Awaitable[BatchOutcome]]


def writing_through(services: Services, before: Callable[[Tx, int], Awaitable[None]]) -> Write:
    """The ingestor's transaction with ``before(tx, batch_number)`` run first in it."""
    batches = 0

    async def write(checked: Verified) -> BatchOutcome:
        nonlocal batches
        batches += 1
        number = batches

        async def handler(tx: Tx) -> BatchOutcome:
            await before(tx, number)
            return await write_batch(tx, checked)

        return await services.uow.write(handler)

    return write


KEEPALIVE_S = 2
SLOW_COMMIT_S = 5  # more than 1.5 × the keep-alive: the broker would drop a client silent that long


async def test_the_keepalive_holds_while_a_slow_batch_commits(
    pg_services: Services, pg_client: httpx.AsyncClient, mosquitto: RunningMosquitto,
) -> None:
    """The first two batches each hold their transaction open for 5 s (``pg_sleep``) with a keep-alive of
    2 s, and the broker's window (Receive Maximum 200) is larger than the inbox's capacity (20): paho's
    thread gets far more messages than the inbox expects while nothing is acknowledged, and must still
    answer the broker."""
    await f.company(pg_client)
    await valve(pg_client, "K1")

    async def slow(tx: Tx, number: int) -> None:
        if number <= 2:
            await tx.conn.execute(sa.text("SELECT pg_sleep(:s)"), {"s": SLOW_COMMIT_S})

    ingestor = Ingestor(pg_services.uow, IngestOptions(
        url=mosquitto.url, client_id="ct-test-keepalive", protocol="5", shared_group="keepalive",
        keepalive_s=KEEPALIVE_S, receive_maximum=200, inbox_capacity=20, max_batch=50))
    ingestor._write = writing_through(pg_services, slow)  # type: ignore[method-assign]
    messages = [(events_topic("K1"), signed("K1", seq)) for seq in range(1, 401)]
    await publish_and_store(pg_services, ingestor, mosquitto, messages, "ct-test-keepalive-valve")
    assert ingestor.stats.disconnects == 0, mosquitto.log()
    assert "ct-test-keepalive has exceeded timeout" not in mosquitto.log()
    assert ingestor.stats.dropped == 0 and ingestor.stats.stored == len(messages)


VALVES = 12
PER_VALVE = 60


async def test_each_valve_reaches_its_history_in_seq_order_with_batches_in_hand_and_one_retried(
    pg_services: Services, pg_client: httpx.AsyncClient, mosquitto: RunningMosquitto,
) -> None:
    """Opened/closed messages of several fitted valves, published at once; small batches so that many
    are in hand at a time, and the third batch's first attempt fails as a lost connection would (the
    batches behind it wait, then the retry is written first)."""
    await f.town(pg_client)
    codes = {f"Q{i:02d}": await smart_cylinder(pg_client, f"Q{i:02d}") for i in range(VALVES)}

    numbers: list[int] = []

    async def third_fails_once(_tx: Tx, number: int) -> None:
        numbers.append(number)
        if number == 3:
            raise OSError("connection reset by peer")

    ingestor = Ingestor(pg_services.uow, IngestOptions(
        url=mosquitto.url, client_id="ct-test-order", protocol="5", shared_group="order", max_batch=25,
        commit_concurrency=2))
    ingestor._write = writing_through(pg_services, third_fails_once)  # type: ignore[method-assign]
    messages = [(events_topic(v), signed(v, seq, "opened" if seq % 2 else "closed"))
                for seq in range(1, PER_VALVE + 1) for v in codes]
    await publish_and_store(pg_services, ingestor, mosquitto, messages, "ct-test-order-valves")
    assert 3 in numbers and len(numbers) >= 10  # it came in many batches, and the third was tried again
    for valve_id, code in codes.items():
        history = (await f.ok(await pg_client.get(f"/api/v1/cylinders/{code}/history")))["events"]
        seqs = [e["data"]["seq"] for e in history if e["type"] == "ValveReported"]
        assert seqs == list(range(1, PER_VALVE + 1)), valve_id
