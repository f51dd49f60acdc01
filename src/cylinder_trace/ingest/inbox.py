"""The hand-over from paho's network thread to the asyncio loop. It never makes paho's thread wait.

paho calls ``on_message`` on its own thread, the thread that also answers the broker's keep-alive: if it
waited here while a batch commits, the broker would drop the connection ("exceeded timeout"). So
:meth:`Inbox.put` only appends. What bounds the inbox is the broker's flow control: messages are
acknowledged after their batch is committed, and the broker sends no more unacknowledged QoS 1 messages
than the client's Receive Maximum (MQTT 5) or its ``max_inflight_messages`` (Mosquitto, MQTT 3.1.1).
:attr:`Inbox.in_hand` counts what was put and not yet released (:meth:`Inbox.release`, after a batch is
committed and acknowledged), so the ingestor can tell when that bound is not holding.

The loop is woken at most once per burst (``call_soon_threadsafe`` is a syscall), not once per message.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class InboxClosed(Exception):
    pass


class Inbox(Generic[T]):
    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        #: what the inbox is expected to hold at most (the broker's flow control keeps it there)
        self.capacity = capacity
        self._loop = loop
        self._items: deque[T] = deque()
        self._in_hand = 0
        self._ready = asyncio.Event()
        self._wake_pending = False
        self._lock = threading.Lock()
        self._closed = threading.Event()

    # --- producer side (any thread) ----------------------------------------------------------------

    def put(self, item: T) -> None:
        """Hand ``item`` to the loop, at once (never waits)."""
        if self._closed.is_set():
            raise InboxClosed
        with self._lock:
            self._items.append(item)
            self._in_hand += 1
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            try:
                self._loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the loop is closed: shutting down
                raise InboxClosed from None

    @property
    def in_hand(self) -> int:
        """Items put and not yet released."""
        return self._in_hand

    # --- consumer side (the loop) ------------------------------------------------------------------

    def _wake(self) -> None:
        with self._lock:
            self._wake_pending = False
        self._ready.set()

    def __len__(self) -> int:
        return len(self._items)

    async def get_batch(self, max_items: int) -> list[T]:
        """At least one item (waits for it), at most ``max_items``: whatever is there right away."""
        while not self._items:
            self._ready.clear()
            if self._items:
                break
            await self._ready.wait()
        batch: list[T] = []
        with self._lock:
            while self._items and len(batch) < max_items:
                batch.append(self._items.popleft())
        return batch

    def release(self, count: int) -> None:
        """``count`` items are done with (committed and acknowledged, or abandoned)."""
        with self._lock:
            self._in_hand = max(0, self._in_hand - count)

    def close(self) -> None:
        """Stop accepting: :meth:`put` raises :class:`InboxClosed` from now on."""
        self._closed.set()
