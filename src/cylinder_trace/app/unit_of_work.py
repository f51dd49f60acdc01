"""The one place that commits: every write of the process goes through :class:`UnitOfWork`, which hands
it to the appender (``app/appender.py``) to be stored with the writes that arrive beside it, in one
transaction with its projections."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..domain.canonical import canonical_bytes
from ..domain.policy import PolicyBook
from ..store.db import is_transient
from ..store.projections import Projection
from .appender import Appender, Job, track_writes, undo_write_count, writes_so_far
from .batch import Batch, LoggedCommand, Needs
from .errors import AppError, Conflict, Forbidden, NotFound
from .tx import Outcome, Tx, derived_event_id

__all__ = ["Clock", "Command", "Needs", "Outcome", "Tx", "UnitOfWork", "command_body_hash", "derived_event_id",
           "utc_now"]

T = TypeVar("T")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def command_body_hash(kind: str, body: dict[str, Any]) -> str:
    """What identifies a command's body in the command log (same kind and body: the same command)."""
    return hashlib.sha256(canonical_bytes({"kind": kind, "body": body})).hexdigest()


class UnitOfWork:
    """Writes through the appender; reads on a connection of their own."""

    def __init__(
        self,
        engine: AsyncEngine,
        policy_book: PolicyBook,
        jurisdiction: str,
        projections: Sequence[Projection],
        clock: Clock = utc_now,
        timezone: str = "Asia/Shanghai",
        max_batch: int = 500,
    ) -> None:
        self.engine = engine
        self.policy_book = policy_book
        self.jurisdiction = jurisdiction
        self.projections = list(projections)
        self.clock = clock
        self.timezone = timezone
        track_writes(engine)
        self.appender = Appender(engine, self._tx, self.projections, clock, max_batch=max_batch)

    def _tx(self, batch: Batch) -> Tx:
        return Tx(batch, self.policy_book, self.jurisdiction, timezone=self.timezone)

    async def write(self, handler: Callable[[Tx], Awaitable[T]], needs: Needs | None = None) -> T:
        """Run ``handler`` in a batch transaction and return its result once committed. Without ``needs``
        it has a transaction of its own."""
        result: T = await self.appender.submit(Job(handler, needs))
        return result

    async def command(
        self, kind: str, event_id: str, body: dict[str, Any], handler: Callable[[Tx], Awaitable[Outcome]],
        needs: Needs | None = None,
    ) -> Outcome:
        """Run ``handler`` once per client ``event_id``: a repeat with the same body gets the first
        answer and stores nothing; a repeat with another body is a conflict. A repeat is authorized like
        a first request (the handler runs and its writes are thrown away): another party's body sent
        again is refused as it would be with a new ``event_id``."""
        item = Command(kind, event_id, body, handler)
        result: Outcome = await self.appender.submit(Job(item.run_once, needs, (event_id,)))
        return result

    async def commands(self, items: Sequence[Command], needs: Needs) -> list[Outcome | AppError]:
        """Many commands as one job of the appender (a census chunk): each as :meth:`command` would run it,
        one after another, each answered with its outcome or the error it was refused with. ``needs``:
        what they read and change together. A command refused after writing to the database itself fails
        them all (the caller sends them one by one then)."""
        async def run_all(tx: Tx) -> list[Outcome | AppError]:
            answers: list[Outcome | AppError] = []
            for item in items:
                one = self._tx(tx.batch)
                writes = writes_so_far(tx.conn)
                try:
                    answers.append(await item.run_once(one))
                except AppError as exc:
                    if writes_so_far(tx.conn) != writes:
                        raise
                    answers.append(exc)
                    continue
                tx.batch.staged.merge(one.layer)  # what the next command reads
            return answers

        results: list[Outcome | AppError] = await self.appender.submit(
            Job(run_all, needs, tuple(item.event_id for item in items)))
        return results

    async def read(self, reader: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``reader`` on a connection of its own in autocommit: no BEGIN and ROLLBACK around a read
        (each statement sees what is committed when it starts). A read that fails because the connection
        was lost (the database restarted) runs once more on a new one."""
        try:
            return await self._read(reader)
        except Exception as exc:
            if not is_transient(exc):
                raise
            return await self._read(reader)

    async def _read(self, reader: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await reader(conn)

    async def close(self) -> None:
        await self.appender.close()


@dataclass(frozen=True, slots=True)
class Command:
    """A client's command: what it is, its ``event_id``, its body, and the handler that carries it out."""

    kind: str
    event_id: str
    body: dict[str, Any]
    handler: Callable[[Tx], Awaitable[Outcome]]

    async def run_once(self, tx: Tx) -> Outcome:
        """Inside a batch: the first answer for ``event_id`` if it ran before with this body (after the
        caller is authorized as for a new command), a conflict for another body, else run the handler and
        log its answer."""
        body_hash = command_body_hash(self.kind, self.body)
        logged = await tx.logged(self.event_id)
        if logged is not None:
            await _authorize_repeat(tx, self.handler)
            if logged.body_hash != body_hash:
                raise Conflict(f"event_id {self.event_id} was already used with a different body")
            return Outcome(logged.status, logged.response)
        outcome = await self.handler(tx)
        tx.log(LoggedCommand(self.event_id, self.kind, body_hash, outcome.status, outcome.body))
        return outcome


async def _authorize_repeat(tx: Tx, handler: Callable[[Tx], Awaitable[Outcome]]) -> None:
    """Run ``handler`` as if the command were new and throw everything it did away; only a refusal of
    the caller (403, 404) counts."""
    probe = Tx(tx.batch, tx.policy_book, tx.jurisdiction, timezone=tx.timezone)
    writes = writes_so_far(tx.conn)
    savepoint = await tx.conn.begin_nested()
    try:
        await handler(probe)
    except (Forbidden, NotFound):
        raise
    except Exception:
        pass
    finally:
        await savepoint.rollback()
        undo_write_count(tx.conn, writes)
