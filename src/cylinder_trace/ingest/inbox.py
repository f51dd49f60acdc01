"""A bounded hand-over from paho's network thread to the asyncio loop, with back-pressure.

paho calls ``on_message`` on its own thread. :meth:`Inbox.put` takes a slot of a semaphore first: when
all ``capacity`` slots hold messages not yet committed, paho's thread waits there, stops reading the
socket, and the broker keeps the rest (it stops sending anyway once its in-flight window of
unacknowledged messages is full). Slots come back with :meth:`Inbox.release` after a batch is
committed and acknowledged.

The loop is woken at most once per burst (``call_soon_threadsafe`` is a syscall), not once per message.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class InboxClosed(Exception):
    pass


class Inbox(Generic[T]):
    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._loop = loop
        self._items: deque[T] = deque()
        self._slots = threading.Semaphore(capacity)
        self._ready = asyncio.Event()
        self._wake_pending = False
        self._lock = threading.Lock()
        self._closed = threading.Event()

    # --- producer side (any thread) ----------------------------------------------------------------

    def put(self, item: T, *, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Wait for a free slot (back-pressure), then hand ``item`` to the loop."""
        while not self._slots.acquire(timeout=0.5):
            if self._closed.is_set() or should_stop():
                raise InboxClosed
        if self._closed.is_set():
            self._slots.release()
            raise InboxClosed
        with self._lock:
            self._items.append(item)
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            try:
                self._loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the loop is closed: shutting down
                raise InboxClosed from None

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
        """Give back ``count`` slots (their messages are committed and acknowledged, or abandoned)."""
        for _ in range(count):
            self._slots.release()

    def close(self) -> None:
        """Stop accepting: a producer waiting for a slot gives up with :class:`InboxClosed`."""
        self._closed.set()
