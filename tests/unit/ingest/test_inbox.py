"""The hand-over from paho's thread to the loop: the producer never waits (paho's thread answers the
broker's keep-alive), and the inbox counts what is in hand until it is released."""

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


async def test_a_producer_never_waits_even_past_the_capacity() -> None:
    inbox: Inbox[int] = Inbox(asyncio.get_running_loop(), capacity=3)
    done = threading.Event()

    def produce() -> None:
        for i in range(6):
            inbox.put(i)
        done.set()

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    await asyncio.to_thread(thread.join, 5)
    assert done.is_set() and len(inbox) == 6 and inbox.in_hand == 6  # nothing was taken, nothing waited
    first = await inbox.get_batch(4)
    assert first == [0, 1, 2, 3] and inbox.in_hand == 6  # taken, not yet committed: still in hand
    inbox.release(len(first))
    assert inbox.in_hand == 2 and await inbox.get_batch(10) == [4, 5]


async def test_a_closed_inbox_takes_nothing_more() -> None:
    inbox: Inbox[int] = Inbox(asyncio.get_running_loop(), capacity=1)
    inbox.put(1)
    inbox.close()
    outcome: list[str] = []

    def produce() -> None:
        try:
            inbox.put(2)
            outcome.append("put")
        except InboxClosed:
            outcome.append("closed")

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    await asyncio.to_thread(thread.join, 5)
    assert outcome == ["closed"] and len(inbox) == 1


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
