"""Batches commit concurrently, yet PUBACKs leave in the order the messages arrived (MQTT requires it):
a batch whose commit finishes first waits for the one before it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from cylinder_trace.app.unit_of_work import UnitOfWork
from cylinder_trace.app.valve_batches import BatchOutcome, Verified
from cylinder_trace.app.valve_keys import ValveKeys
from cylinder_trace.ingest.decode import Received
from cylinder_trace.ingest.inbox import Inbox
from cylinder_trace.ingest.ingestor import IngestOptions, Ingestor


class RecordingClient:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack_many(self, mids: list[int]) -> None:
        self.acked.extend(mids)

    def ack(self, mid: int, _qos: int) -> None:
        self.acked.append(mid)


class NoKeys:
    async def get(self, _valve_ids: Any, *, fresh: bool = False) -> dict[str, Any]:
        return {}


def received(mid: int) -> Received:
    return Received(topic="ct/v1/valves/V1/events", payload=b"{}", mid=mid, qos=1, retain=False,
                    received_at=datetime.now(UTC), received_mono=0.0, generation=0)


Commit = Callable[[list[Received], Verified | None], Awaitable[BatchOutcome | None]]


@dataclass
class Consuming:
    """An ingestor's consumer at work on batches of two, with ``commit`` for its database and a client
    that records acknowledgements."""

    ingestor: Ingestor
    client: RecordingClient
    inbox: Inbox[Received]
    stop: asyncio.Event
    task: asyncio.Task[None]


def consuming(commit: Commit) -> Consuming:
    ingestor = Ingestor(cast(UnitOfWork, object()), IngestOptions(url="mqtt://127.0.0.1:1", client_id="t",
                        max_batch=2, commit_concurrency=2), keys=cast(ValveKeys, NoKeys()))
    client = RecordingClient()
    ingestor._commit = commit  # type: ignore[method-assign,assignment]
    ingestor._client = client  # type: ignore[assignment]
    ingestor._inbox = inbox = Inbox(asyncio.get_running_loop(), capacity=10)
    ingestor._stop_requested = stop = asyncio.Event()
    return Consuming(ingestor, client, inbox, stop, asyncio.create_task(ingestor._consume()))


async def test_a_later_batch_committed_first_is_acknowledged_after_the_earlier_one() -> None:
    commits: list[int] = []
    first_started, second_done = asyncio.Event(), asyncio.Event()

    async def commit(batch: list[Received], _checked: Verified | None = None) -> BatchOutcome | None:
        if batch[0].mid == 1:
            first_started.set()
            await second_done.wait()  # the first batch's commit ends only after the second's
        commits.append(batch[0].mid)
        if batch[0].mid == 3:
            second_done.set()
        return None

    at = consuming(commit)
    at.inbox.put(received(1))
    at.inbox.put(received(2))
    await asyncio.wait_for(first_started.wait(), 5)
    at.inbox.put(received(3))
    at.inbox.put(received(4))
    await asyncio.wait_for(second_done.wait(), 5)
    for _ in range(100):
        if len(at.client.acked) == 4:
            break
        await asyncio.sleep(0.01)
    at.stop.set()
    await asyncio.wait_for(at.task, 5)
    assert commits == [3, 1]  # the second batch committed first
    assert at.client.acked == [1, 2, 3, 4]  # and was acknowledged second
    assert len(at.inbox) == 0 and at.ingestor.stats.received == 4


async def test_a_failing_commit_task_stops_the_consumer_and_nothing_after_it_is_acknowledged() -> None:
    second_started = asyncio.Event()

    async def commit(batch: list[Received], _checked: Verified | None = None) -> BatchOutcome | None:
        if batch[0].mid == 1:
            await second_started.wait()
            raise RuntimeError("a bug in the commit path")
        second_started.set()
        return None

    at = consuming(commit)
    for mid in (1, 2, 3, 4):
        at.inbox.put(received(mid))
    await asyncio.wait_for(second_started.wait(), 5)
    await asyncio.sleep(0.05)
    at.stop.set()
    with pytest.raises(RuntimeError, match="a bug in the commit path"):
        await asyncio.wait_for(at.task, 5)
    assert at.client.acked == []  # neither the failed batch nor the one after it: both come again
