"""Several batches are in hand at once, yet they are written in the order they arrived (what a valve
sent in order reaches its cylinder's history in order) and their PUBACKs leave in that order (MQTT
requires it), also when one of them has to be tried again."""

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
Write = Callable[[Verified], Awaitable[BatchOutcome]]


@dataclass
class Consuming:
    """An ingestor's consumer at work on batches of two, with ``commit`` for its database and a client
    that records acknowledgements."""

    ingestor: Ingestor
    client: RecordingClient
    inbox: Inbox[Received]
    stop: asyncio.Event
    task: asyncio.Task[None]


def consuming(commit: Commit | None = None, write: Write | None = None) -> Consuming:
    """``commit`` replaces the whole commit path (retries included); ``write`` only the transaction."""
    ingestor = Ingestor(cast(UnitOfWork, object()), IngestOptions(url="mqtt://127.0.0.1:1", client_id="t",
                        max_batch=2, commit_concurrency=2), keys=cast(ValveKeys, NoKeys()))
    client = RecordingClient()
    if commit is not None:
        ingestor._commit = commit  # type: ignore[method-assign,assignment]
    if write is not None:
        ingestor._write = write  # type: ignore[method-assign]
    ingestor._client = client  # type: ignore[assignment]
    ingestor._inbox = inbox = Inbox(asyncio.get_running_loop(), capacity=10)
    ingestor._stop_requested = stop = asyncio.Event()
    return Consuming(ingestor, client, inbox, stop, asyncio.create_task(ingestor._consume()))


async def test_a_batch_retried_holds_back_the_batches_behind_it() -> None:
    written: list[int] = []
    attempts: list[int] = []

    async def write(checked: Verified) -> BatchOutcome:
        first_mid = min(d.arrival.mid for d in checked.rejected)  # type: ignore[attr-defined]
        attempts.append(first_mid)
        if first_mid == 1 and attempts.count(1) == 1:
            await asyncio.sleep(0.05)  # the next batch is in hand meanwhile
            raise OSError("connection reset by peer")  # the database went away: tried again
        written.append(first_mid)
        return BatchOutcome(stored=0, duplicates=0, presence=0, dead_letters=[], appended=0, unfitted=0)

    at = consuming(commit=None, write=write)
    for mid in (1, 2, 3, 4):
        at.inbox.put(received(mid))
    for _ in range(500):
        if len(at.client.acked) == 4:
            break
        await asyncio.sleep(0.01)
    at.stop.set()
    await asyncio.wait_for(at.task, 5)
    assert attempts == [1, 1, 3]  # the second batch waited for the first one's second attempt
    assert written == [1, 3] and at.client.acked == [1, 2, 3, 4]
    assert at.inbox.in_hand == 0 and at.ingestor.stats.received == 4


async def test_a_failing_commit_task_stops_the_consumer_and_nothing_after_it_is_written_or_acknowledged() -> None:
    commits: list[int] = []

    async def commit(batch: list[Received], _checked: Verified | None = None) -> BatchOutcome | None:
        commits.append(batch[0].mid)
        if batch[0].mid == 1:
            await asyncio.sleep(0.05)  # the second batch is in hand meanwhile
            raise RuntimeError("a bug in the commit path")
        return None

    at = consuming(commit)
    for mid in (1, 2, 3, 4):
        at.inbox.put(received(mid))
    await asyncio.sleep(0.2)
    at.stop.set()
    with pytest.raises(RuntimeError, match="a bug in the commit path"):
        await asyncio.wait_for(at.task, 5)
    assert commits == [1]  # the batch behind it was not written
    assert at.client.acked == []  # and neither one was acknowledged: both come again
