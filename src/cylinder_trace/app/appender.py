"""Group commit: one task takes the commands that arrive while it writes and stores them together.

Every write of the process — an HTTP command, a batch of valve messages, census rows, a sweep's
finding — is a :class:`Job` handed to the :class:`Appender`. The appender takes the jobs waiting at the
head of its queue, opens **one** transaction that takes the append lock, runs the jobs one after
another (each decides on what the jobs before it left: ``app/batch.py``), writes all their events with
one statement, brings the projections up to date from the events in memory, commits once, and only
then answers each job. A database that answers in 2 ms takes hundreds of commands per commit that way
instead of one.

* A job that names what it needs (:class:`~cylinder_trace.app.batch.Needs`) joins a batch with the jobs
  before it unless they share a cylinder, customer, valve or stream; a job that names nothing (a valve
  batch, a registry change, a sweep) runs in a transaction of its own.
* A job that fails (a refusal of bad input, an error) gets its own exception; the others go on. If it
  failed after writing to the database itself, or the database refused a statement, the transaction is
  rolled back and the other jobs run again without it. If storing the batch fails, each job is retried
  alone, so a bad one cannot take the others down.
* A job is answered only after its batch committed: an answered write is durable, and a write whose
  batch did not commit was never answered as done.
* Jobs are taken in arrival order, so what one client sends in order is stored in that order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from prometheus_client import Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..store.db import is_transient
from ..store.projections import Projection
from .batch import Batch, Needs
from .tx import Tx

log = logging.getLogger("cylinder_trace.appender")

#: a database that does not answer is retried this many times before the jobs fail
TRANSIENT_RETRIES: Final = 3
#: registry entries kept as hints for the next batches (forgotten all at once beyond this)
_MOST_ENTRY_HINTS: Final = 50_000
_DML_PREFIXES: Final = ("INSERT", "UPDATE", "DELETE", "WITH", "MERGE")
_DML_COUNT: Final = "ct_dml_statements"

BATCH_JOBS: Final = Histogram(
    "ct_write_batch_jobs", "Writes stored together in one transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 500),
)
BATCH_SECONDS: Final = Histogram(
    "ct_write_batch_seconds", "From a batch's first statement to its commit",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WAITING: Final = Gauge("ct_write_queue", "Writes waiting for the appender")


@dataclass(eq=False)
class Job:
    """One unit of work for the appender: ``run(tx)`` inside a batch transaction."""

    run: Callable[[Tx], Awaitable[Any]]
    #: what it reads and changes (None: it runs in a transaction of its own)
    needs: Needs | None = None
    #: command-log ids it will look up (loaded with the batch)
    event_ids: tuple[str, ...] = ()
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def alone(self) -> bool:
        return self.needs is None


class _Failed(Exception):
    """A job failed in a way that spoils the transaction for the others."""

    def __init__(self, job: Job, error: BaseException) -> None:
        super().__init__(str(error))
        self.job = job
        self.error = error


def track_writes(engine: AsyncEngine) -> None:
    """Count the data-changing statements each connection runs (``Connection.info``), so the appender
    knows whether a failed job left writes behind in the batch's transaction."""

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _count(conn: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip()[:6].upper().startswith(_DML_PREFIXES):
            conn.info[_DML_COUNT] = conn.info.get(_DML_COUNT, 0) + 1


def writes_so_far(conn: AsyncConnection) -> int:
    return int(conn.sync_connection.info.get(_DML_COUNT, 0)) if conn.sync_connection is not None else 0


def undo_write_count(conn: AsyncConnection, count: int) -> None:
    """After rolling back to a savepoint: the writes since ``count`` are undone."""
    if conn.sync_connection is not None:
        conn.sync_connection.info[_DML_COUNT] = count


class Appender:
    def __init__(
        self,
        engine: AsyncEngine,
        new_tx: Callable[[Batch], Tx],
        projections: Sequence[Projection],
        clock: Callable[[], datetime],
        *,
        max_batch: int = 500,
        max_waiting: int = 10_000,
    ) -> None:
        self.engine = engine
        self.new_tx = new_tx
        self.projections = list(projections)
        self.clock = clock
        self.max_batch = max_batch
        self._waiting: collections.deque[Job] = collections.deque()
        self._arrived = asyncio.Event()
        self._room = asyncio.Semaphore(max_waiting)
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        #: registry entries as the last batches found them: hints for the next batch's first query
        self._entry_hints: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.batches = 0
        self.jobs_done = 0

    async def submit(self, job: Job) -> Any:
        """Queue ``job`` (waiting for room when the queue is full) and return its result once stored."""
        await self._room.acquire()
        self._waiting.append(job)
        self._arrived.set()
        self._ensure_running()
        try:
            return await asyncio.shield(job.future)
        finally:
            self._room.release()

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="appender")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop_connection()
        for job in self._waiting:
            if not job.future.done():
                job.future.set_exception(RuntimeError("the service is shutting down"))
        self._waiting.clear()

    # --- the loop ---------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            if not self._waiting:
                self._arrived.clear()
                await self._arrived.wait()
            # one turn of the loop first: requests already read are handed over and join this batch
            await asyncio.sleep(0)
            jobs = self._take()
            WAITING.set(len(self._waiting))
            try:
                await self._store(jobs)
            except Exception as exc:  # a bug of the appender itself: fail the jobs, keep serving
                log.exception("storing a batch of %d failed", len(jobs))
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _take(self) -> list[Job]:
        """The jobs at the head of the queue that may share a transaction."""
        first = self._waiting.popleft()
        if first.alone:
            return [first]
        jobs = [first]
        assert first.needs is not None
        keys = set(first.needs.conflicts)
        while self._waiting and len(jobs) < self.max_batch:
            nxt = self._waiting[0]
            if nxt.needs is None or keys & nxt.needs.conflicts:
                break
            keys |= nxt.needs.conflicts
            jobs.append(self._waiting.popleft())
        return jobs

    async def _store(self, jobs: list[Job]) -> None:
        remaining = list(jobs)
        attempt = 0
        while remaining:
            try:
                results = await self._transaction(remaining)
            except _Failed as failed:  # rolled back: the others go again without it
                failed.job.future.set_exception(failed.error)
                remaining = [j for j in remaining if j is not failed.job]
                continue
            except Exception as exc:
                await self._drop_connection()
                if is_transient(exc) and attempt < TRANSIENT_RETRIES:
                    attempt += 1
                    await asyncio.sleep(0.05 * 2 ** attempt)
                    continue
                if len(remaining) > 1:  # storing the batch failed: find the job it was about
                    for job in remaining:
                        await self._store([job])
                    return
                remaining[0].future.set_exception(exc)
                return
            for job, (ok, value) in zip(remaining, results, strict=True):
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)
            self.batches += 1
            self.jobs_done += len(remaining)
            return

    async def _connection(self) -> AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await self.engine.connect()
        return self._conn

    async def _drop_connection(self) -> None:
        """Forget the connection (after a failure it may be broken); the next batch opens another."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.invalidate()
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _transaction(self, jobs: Sequence[Job]) -> list[tuple[bool, Any]]:
        conn = await self._connection()
        results: list[tuple[bool, Any]] = []
        started = time.perf_counter()
        async with conn.begin():
            batch = Batch(conn, self.clock())
            await batch.start(self.projections)
            await batch.prefetch([j.needs for j in jobs if j.needs is not None],
                                 [i for j in jobs for i in j.event_ids], hints=self._hint)
            for job in jobs:
                results.append(await self._run_job(batch, job))
            await batch.write(self.projections)
            self._remember_entries(batch)
        BATCH_SECONDS.observe(time.perf_counter() - started)
        BATCH_JOBS.observe(len(jobs))
        return results

    def _hint(self, kind: str, entry_id: str) -> Mapping[str, Any] | None:
        return self._entry_hints.get((kind, entry_id))

    def _remember_entries(self, batch: Batch) -> None:
        if len(self._entry_hints) > _MOST_ENTRY_HINTS:
            self._entry_hints.clear()
        self._entry_hints.update(batch.loaded_entries())

    async def _run_job(self, batch: Batch, job: Job) -> tuple[bool, Any]:
        tx = self.new_tx(batch)
        writes = writes_so_far(batch.conn)
        try:
            value = await job.run(tx)
        except Exception as exc:
            if is_transient(exc):
                raise  # the database, not the job: the whole batch is tried again
            if writes_so_far(batch.conn) != writes or isinstance(exc, sa.exc.DBAPIError):
                raise _Failed(job, exc) from exc
            return False, exc
        batch.staged.merge(tx.layer)
        return True, value
