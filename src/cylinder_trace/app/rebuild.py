"""Rebuilding read models from the events (after a fix to a projection, this is how they are repaired).

The chosen projections forget their rows and replay the whole store in one pass, in one transaction
that holds the append lock: writes wait until it commits, and readers see the old rows until then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from ..store.event_store import lock_appends, next_position
from ..store.projections import Projection
from ..store.projections import rebuild as replay_into

#: events a rebuild folds before it writes the rows they touched: in a store where cylinders' histories
#: interleave, a page touches most cylinders, so fewer, larger pages write each row fewer times
REBUILD_PAGE = 100_000


class UnknownProjection(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RebuildReport:
    projections: tuple[str, ...]
    events: int


def choose(projections: Sequence[Projection], names: Sequence[str]) -> list[Projection]:
    """The projections named (all when none is), or :class:`UnknownProjection` naming the known ones."""
    if not names:
        return list(projections)
    known = {p.name: p for p in projections}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownProjection(f"unknown projection {', '.join(unknown)}: choose from {', '.join(sorted(known))}")
    return [known[n] for n in names]


async def rebuild(engine: AsyncEngine, chosen: Sequence[Projection], *, on_total: Callable[[int], None] | None = None,
                  progress: Callable[[int], None] | None = None) -> RebuildReport:
    async with engine.begin() as conn:
        await lock_appends(conn)
        if on_total is not None:  # positions are gap-free under the lock: the newest is the count
            on_total(await next_position(conn) - 1)
        read = await replay_into(conn, chosen, batch=REBUILD_PAGE, progress=progress)
    return RebuildReport(tuple(p.name for p in chosen), read)
