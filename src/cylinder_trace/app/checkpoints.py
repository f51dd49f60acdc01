"""Checkpoints: taken once a day inside ``serve`` and on demand (admin, regulator); read; and a cylinder's
history exported with its inclusion proof against one, for a regulator to keep (``docs/checkpoints.md``).

Taking one: the newest position and the head of every stream then are read by one statement (no lock:
the ``streams`` table moves with the events), the tree is built and signed, and the signed statement is
appended as the next event of the stream ``checkpoints`` — whose own head the next checkpoint's tree
covers, chaining the checkpoints together.
"""

from __future__ import annotations

import bisect
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.canonical import format_ts
from ..domain.checkpoints import (
    CHECKPOINT_STREAM,
    CHECKPOINT_TAKEN,
    heads_root,
    leaf_hashes,
    proof_document,
    sign,
    signing_key,
    statement,
)
from ..domain.events import NewEvent, cylinder_stream
from ..domain.merkle import inclusion_proof
from ..settings import Settings
from ..store import event_store
from ..store.event_store import RecordedEvent
from ..store.stream_heads import heads_at, heads_now
from .cylinders import parse_code
from .errors import NotFound
from .principals import Principal
from .unit_of_work import Tx, UnitOfWork

#: the actor of the checkpoints ``serve`` takes on its schedule
SCHEDULE_ACTOR = "system:checkpoint"
#: who may take, read and export checkpoints
CHECKPOINT_ROLES = ("admin", "regulator")


def checkpoint_view(event: RecordedEvent) -> dict[str, Any]:
    """A checkpoint as the API serves it: the signed statement, the signature and the public key."""
    return {"sequence": event.version, "event_id": event.event_id, **event.data}


async def take_checkpoint(uow: UnitOfWork, settings: Settings, actor: str = SCHEDULE_ACTOR) -> dict[str, Any]:
    taken_at = uow.clock()

    async def tree(conn: AsyncConnection) -> tuple[int, bytes, int]:
        position, heads = await heads_now(conn)
        return position, heads_root(heads), len(heads)

    position, root, tree_size = await uow.read(tree)
    key = signing_key(settings.checkpoint_signing_key)

    async def record(tx: Tx) -> dict[str, Any]:
        sequence = len(await tx.load_stream(CHECKPOINT_STREAM)) + 1
        body = statement(jurisdiction=tx.jurisdiction, sequence=sequence, taken_at=format_ts(taken_at),
                         position=position, tree_size=tree_size, root=root)
        recorded = await tx.record([NewEvent(CHECKPOINT_TAKEN, sign(body, key), taken_at, CHECKPOINT_STREAM)],
                                   event_id=str(uuid.uuid4()), actor=actor, source="api")
        return checkpoint_view(recorded[0])

    return await uow.write(record)


async def take_checkpoint_if_due(uow: UnitOfWork, settings: Settings, now: datetime) -> dict[str, Any] | None:
    """The schedule's job: a checkpoint when the newest is ``checkpoint_interval_s`` old (or none exists)."""
    newest = await uow.read(_newest_event)
    due = newest is None or now - newest.occurred_at >= timedelta(seconds=settings.checkpoint_interval_s)
    return await take_checkpoint(uow, settings) if due else None


async def _newest_event(conn: AsyncConnection) -> RecordedEvent | None:
    stream = await event_store.read_stream(conn, CHECKPOINT_STREAM)
    return stream[-1] if stream else None


async def _event(conn: AsyncConnection, sequence: int | None) -> RecordedEvent:
    stream = await event_store.read_stream(conn, CHECKPOINT_STREAM)
    if sequence is None and stream:
        return stream[-1]
    if sequence is not None and 1 <= sequence <= len(stream):
        return stream[sequence - 1]
    raise NotFound("checkpoint", "latest" if sequence is None else str(sequence))


async def read_checkpoint(conn: AsyncConnection, sequence: int | None, caller: Principal) -> dict[str, Any]:
    """Checkpoint ``sequence``, or the newest when None."""
    caller.require(*CHECKPOINT_ROLES)
    return checkpoint_view(await _event(conn, sequence))


async def export_proof(conn: AsyncConnection, code: str, sequence: int | None, caller: Principal) -> dict[str, Any]:
    """The cylinder's history up to the version checkpoint ``sequence`` (None: the newest) holds for it,
    with the leaf's inclusion proof: one file that ``cylinder-trace verify-checkpoint`` checks offline.

    Admin and regulator only: the file carries the events unmasked, as their hashes cover them."""
    caller.require(*CHECKPOINT_ROLES)
    signed = (await _event(conn, sequence)).data
    position = int(signed["statement"]["position"])
    stream_id = cylinder_stream(parse_code(code))
    events = [e for e in await event_store.read_stream(conn, stream_id) if e.position <= position]
    if not events:
        raise NotFound(f"cylinder at checkpoint {signed['statement']['sequence']}", code)
    heads = await heads_at(conn, position)
    index = bisect.bisect_left([h.stream_id for h in heads], stream_id)
    if index == len(heads) or heads[index].stream_id != stream_id:  # only if the events changed meanwhile
        raise NotFound(f"cylinder at checkpoint {signed['statement']['sequence']}", code)
    _, proof = inclusion_proof(leaf_hashes(heads), index)
    return proof_document(signed, stream_id, [e.to_json() for e in events], heads[index], proof)
