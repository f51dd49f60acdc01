"""The hand-over from paho's thread to the loop: bounded, and the producer waits when it is full."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cylinder_trace.ingest.inbox import Inbox, InboxClosed


async def test_batches_take_what_is_there_up_to_the_maximum() -> None:
    inbox: Inbox[int] = Inbox(asyncio.get_running_loop(), capacity=10)
    for i in range(7):
        inbox.put(i)
    assert await inbox.get_batch(5) == [0, 1, 2, 3, 4]
    assert await inbox.get_batch(5) == [5, 6]


async def test_a_full_inbox_blocks_the_producer_until_slots_come_back() -> None:
    inbox: Inbox[int] = Inbox(asyncio.get_running_loop(), capacity=3)
    done = threading.Event()

    def produce() -> None:
        for i in range(6):
            inbox.put(i)
        done.set()

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    for _ in range(100):
        if len(inbox) == 3:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert len(inbox) == 3 and not done.is_set()  # the fourth put waits for a slot
    first = await inbox.get_batch(10)
    assert first == [0, 1, 2]
    await asyncio.sleep(0.2)
    assert not done.is_set() and len(inbox) == 0  # waiting for slots: nothing more was taken
    inbox.release(len(first))
    rest: list[int] = []
    while len(rest) < 3:
        rest += await inbox.get_batch(10)
    inbox.release(len(rest))
    await asyncio.to_thread(thread.join, 5)
    assert rest == [3, 4, 5] and done.is_set()


async def test_closing_frees_a_waiting_producer() -> None:
    inbox: Inbox[int] = Inbox(asyncio.get_running_loop(), capacity=1)
    inbox.put(1)
    outcome: list[str] = []

    def produce() -> None:
        try:
            inbox.put(2)
            outcome.append("put")
        except InboxClosed:
            outcome.append("closed")

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    await asyncio.sleep(0.1)
    inbox.close()
    await asyncio.to_thread(thread.join, 5)
    assert outcome == ["closed"]


async def test_a_wake_up_from_another_thread_reaches_a_waiting_consumer() -> None:
    inbox: Inbox[int] = Inbox(asyncio.get_running_loop(), capacity=100)
    getter = asyncio.ensure_future(inbox.get_batch(100))
    await asyncio.sleep(0.05)
    threading.Thread(target=lambda: [inbox.put(i) for i in range(50)], daemon=True).start()
    batch = await asyncio.wait_for(getter, 5)
    assert batch and batch[0] == 0


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Inbox(asyncio.new_event_loop(), capacity=0)
