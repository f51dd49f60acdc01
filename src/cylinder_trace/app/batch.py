"""One transaction's shared state when many commands are stored together (group commit).

A :class:`Batch` belongs to one transaction that holds the append lock from its first statement, so
what it reads is what the store holds and nobody else can change it before the commit. The commands of
the batch run one after another; each sees the store as the commands before it left it:

* reads go through caches the batch fills with one query for many commands (:meth:`Batch.prefetch`):
  cylinder states and stream heads, registry entries, the command log;
* a command's events are *staged*, not written: versions and hashes are chained onto the heads the
  batch knows, cylinder states are folded forward in memory, and the next command sees both;
* when every command has run, :meth:`Batch.write` stores all staged events with one statement,
  numbers them after the newest position, logs the commands' answers, moves the code counters, and
  brings the projections up to date from the events in memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.codes import make_grai
from ..domain.cylinder import CylinderState, state_from_json
from ..domain.events import cylinder_stream
from ..store import event_store
from ..store.db import Write, any_of
from ..store.event_store import RecordedEvent, StreamHead
from ..store.projections import Projection, apply_appended, bring_up_to, plan_appended
from ..store.tables import code_counters, command_log, cylinders, registry, streams

#: how many generated serials the first query of a batch checks against the store, for one prefix and
#: asset type; each further query checks twice as many as the one before, up to the most
_FIRST_SERIAL_BLOCK: Final = 32
_MOST_SERIAL_BLOCK: Final = 1024
CYLINDER_PREFIX: Final = "cylinder:"


@dataclass(frozen=True, slots=True)
class LoggedCommand:
    """A command's first answer, kept under the client's ``event_id``."""

    event_id: str
    kind: str
    body_hash: str
    status: int
    response: dict[str, Any]


#: a registry entry by ``(kind, id)`` (None when there is none)
EntryLookup = Callable[[str, str], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Needs:
    """What a command reads and changes, named before it runs: the batch loads it for many commands at
    once, and two commands that name the same cylinder, customer, valve or stream are not stored in
    one batch (each then decides on what the one before it left)."""

    codes: tuple[str, ...] = ()
    #: registry entries ``(kind, id)`` it reads (registry entries change only in transactions of their own)
    entries: tuple[tuple[str, str], ...] = ()
    #: other streams it reads or appends to
    streams: tuple[str, ...] = ()
    #: anything else it reads that another command could change (``customer:<id>`` for a customer's
    #: findings, ``valve:<id>`` for where a valve is fitted)
    keys: tuple[str, ...] = ()
    #: codes known only once its registry entries are loaded (a code made from a company's prefix)
    derived_codes: Callable[[EntryLookup], Sequence[str]] | None = None

    @property
    def conflicts(self) -> frozenset[str]:
        """What two commands of one batch may not share."""
        return frozenset({cylinder_stream(c) for c in self.codes} | set(self.streams) | set(self.keys))


@dataclass
class Layer:
    """What one command changed in the batch's view: merged when the command succeeds, dropped when it
    fails."""

    states: dict[str, CylinderState | None] = field(default_factory=dict)
    heads: dict[str, StreamHead] = field(default_factory=dict)
    entries: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    events: list[RecordedEvent] = field(default_factory=list)
    commands: dict[str, LoggedCommand] = field(default_factory=dict)

    def merge(self, other: Layer) -> None:
        self.states.update(other.states)
        self.heads.update(other.heads)
        self.entries.update(other.entries)
        self.events.extend(other.events)
        self.commands.update(other.commands)


#: what a batch loads before its commands run, in one query (PostgreSQL): stream heads with the states of
#: cylinders, registry entries with the companies they belong to, and the command log
_PG_PREFETCH = sa.text(
    "SELECT 's' AS part, s.stream_id AS k1, NULL::varchar AS k2, s.version AS n, s.head_hash AS t, c.state AS j "
    "FROM streams s LEFT JOIN cylinders c ON c.code = substr(s.stream_id, 10) "
    "WHERE s.stream_id = ANY(CAST(:streams AS varchar[])) "
    "UNION ALL SELECT 'r', r.kind, r.id, NULL, NULL, r.data FROM registry r "
    "WHERE r.id = ANY(CAST(:entry_ids AS varchar[])) AND r.kind = ANY(CAST(:entry_kinds AS varchar[])) "
    "UNION ALL SELECT 'r', co.kind, co.id, NULL, NULL, co.data FROM registry co WHERE co.kind = 'company' "
    "AND co.id IN (SELECT r2.company_id FROM registry r2 WHERE r2.id = ANY(CAST(:entry_ids AS varchar[])) "
    "AND r2.kind = ANY(CAST(:entry_kinds AS varchar[]))) "
    "UNION ALL SELECT 'c', l.event_id, l.kind, l.status_code, l.body_hash, l.response FROM command_log l "
    "WHERE l.event_id = ANY(CAST(:event_ids AS varchar[]))"
)
assert len(CYLINDER_PREFIX) + 1 == 10, "the prefetch cuts the code out of a cylinder's stream id at 10"

@functools.lru_cache(maxsize=2)
def _cylinders_query(dialect: str) -> sa.Select[Any]:
    """Stream heads with the cylinders' states, for the stream ids bound as ``stream_ids``: built once per
    dialect (PostgreSQL: one array parameter; elsewhere an expanding ``IN``)."""
    ids = (sa.bindparam("stream_ids", type_=postgresql.ARRAY(sa.String)) if dialect == "postgresql"
           else sa.bindparam("stream_ids", expanding=True))
    wanted = streams.c.stream_id == sa.any_(ids) if dialect == "postgresql" else streams.c.stream_id.in_(ids)
    return (sa.select(streams.c.stream_id, streams.c.version, streams.c.head_hash, cylinders.c.state)
            .select_from(streams.outerjoin(cylinders, cylinders.c.code == sa.func.substr(
                streams.c.stream_id, len(CYLINDER_PREFIX) + 1)))
            .where(wanted))


def _derived_codes(needs: Iterable[Needs], entry: EntryLookup) -> set[str]:
    codes: set[str] = set()
    for n in needs:
        if n.derived_codes is not None:
            codes.update(n.derived_codes(entry))
    return codes


#: the layer of a read that is no command's (nothing of its own staged)
_NOTHING_STAGED: Final = Layer()


class Batch:
    def __init__(self, conn: AsyncConnection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        #: the store as the committed commands of the batch left it
        self.staged = Layer()
        #: read from the store (None: known not to exist)
        self._states: dict[str, CylinderState | None] = {}
        self._heads: dict[str, StreamHead] = {}
        self._entries: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._logged: dict[str, LoggedCommand | None] = {}
        #: next generated serial per (prefix, asset type), and serials known to be free
        self._serials: dict[tuple[str, int], int] = {}
        self._free: dict[tuple[str, int], list[int]] = {}
        self._next_block: dict[tuple[str, int], int] = {}
        self._counters_moved: set[tuple[str, int]] = set()
        self._next_position = 0

    # --- start ------------------------------------------------------------------------------------
    async def start(self, projections: Sequence[Projection]) -> None:
        """Take the append lock and bring lagging projections up to the store's end (their tables are
        what the batch reads states from)."""
        self._next_position, marks = await event_store.take_append_lock(self.conn)
        await bring_up_to(self.conn, projections, self._next_position - 1, marks)

    async def prefetch(self, needs: Iterable[Needs], event_ids: Iterable[str], *,
                       hints: EntryLookup | None = None) -> None:
        """Load what the commands named: on PostgreSQL in one query (the entries' companies with them), then
        the cylinders of codes made from those entries; elsewhere a query per kind of thing.

        ``hints``: registry entries as an earlier batch found them. Codes made from them are loaded with
        the first query, so that a batch of registrations needs no second one; the codes are made again
        from the entries as loaded, and any the hints got wrong are loaded then."""
        needs = list(needs)
        codes: set[str] = set()
        entries: set[tuple[str, str]] = set()
        named_streams: set[str] = set()
        for n in needs:
            codes.update(n.codes)
            entries.update(n.entries)
            named_streams.update(n.streams)
        wanted_entries = sorted(e for e in entries if e not in self._entries)
        wanted_logged = sorted(i for i in set(event_ids) if i not in self._logged)
        if self.conn.dialect.name == "postgresql":
            guessed = _derived_codes(needs, hints) if hints is not None else set()
            wanted_streams = {cylinder_stream(c) for c in codes | guessed} | named_streams
            await self._load_at_once(sorted(s for s in wanted_streams if s not in self._heads), wanted_entries,
                                     wanted_logged)
        else:
            await self._load_entries(wanted_entries)
            await self._load_cylinders(sorted(c for c in codes if cylinder_stream(c) not in self._heads))
            await self._load_heads(sorted(s for s in named_streams if s not in self._heads))
            await self._load_logged(wanted_logged)
        derived = _derived_codes(needs, lambda kind, entry_id: self._entries.get((kind, entry_id)))
        await self._load_cylinders(sorted(c for c in derived if cylinder_stream(c) not in self._heads))

    def loaded_entries(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The registry entries read from the store (those that exist)."""
        return {key: entry for key, entry in self._entries.items() if entry is not None}

    async def _load_at_once(self, stream_ids: Sequence[str], entries: Sequence[tuple[str, str]],
                            event_ids: Sequence[str]) -> None:
        """Stream heads (and cylinders' states), registry entries with their companies, and logged commands,
        in one round trip."""
        if not (stream_ids or entries or event_ids):
            return
        rows = await self.conn.execute(_PG_PREFETCH, {
            "streams": list(stream_ids), "entry_ids": sorted({i for _, i in entries}),
            "entry_kinds": sorted({k for k, _ in entries}), "event_ids": list(event_ids)})
        for part, k1, k2, n, t, j in rows:
            if part == "s":
                self._heads[k1] = StreamHead(int(n), str(t))
                if k1.startswith(CYLINDER_PREFIX):
                    self._states[k1.removeprefix(CYLINDER_PREFIX)] = state_from_json(j) if j is not None else None
            elif part == "r":
                self._entries[(k1, k2)] = dict(j)
            else:
                self._logged[k1] = LoggedCommand(k1, k2, t, int(n), j)
        for stream_id in stream_ids:
            self._heads.setdefault(stream_id, event_store.EMPTY_HEAD)
            if stream_id.startswith(CYLINDER_PREFIX):
                self._states.setdefault(stream_id.removeprefix(CYLINDER_PREFIX), None)
        for key in entries:
            self._entries.setdefault(key, None)
        for event_id in event_ids:
            self._logged.setdefault(event_id, None)

    async def _load_cylinders(self, codes: Sequence[str]) -> None:
        """Heads and states of ``codes`` in one query: a code without a stream is not registered (and an
        unregistered code's stream, should it have one, has no state)."""
        if not codes:
            return
        wanted = {cylinder_stream(c): c for c in codes}
        rows = await self.conn.execute(_cylinders_query(self.conn.dialect.name), {"stream_ids": sorted(wanted)})
        for r in rows:
            code = wanted[r.stream_id]
            self._heads[r.stream_id] = StreamHead(int(r.version), str(r.head_hash))
            self._states[code] = state_from_json(r.state) if r.state is not None else None
        for stream_id, code in wanted.items():
            self._heads.setdefault(stream_id, event_store.EMPTY_HEAD)
            self._states.setdefault(code, None)

    async def _load_entries(self, keys: Sequence[tuple[str, str]]) -> None:
        if not keys:
            return
        rows = await self.conn.execute(sa.select(registry.c.kind, registry.c.id, registry.c.data).where(
            any_of(self.conn, registry.c.id, sorted({i for _, i in keys})),
            any_of(self.conn, registry.c.kind, sorted({k for k, _ in keys}))))
        for r in rows:
            self._entries[(r.kind, r.id)] = dict(r.data)
        for key in keys:
            self._entries.setdefault(key, None)

    async def _load_heads(self, stream_ids: Sequence[str]) -> None:
        if not stream_ids:
            return
        heads = await event_store.read_heads(self.conn, stream_ids)
        for stream_id in stream_ids:
            self._heads[stream_id] = heads.get(stream_id, event_store.EMPTY_HEAD)

    async def _load_logged(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        rows = await self.conn.execute(sa.select(command_log).where(any_of(self.conn, command_log.c.event_id,
                                                                            event_ids)))
        for r in rows:
            self._logged[r.event_id] = LoggedCommand(r.event_id, r.kind, r.body_hash, r.status_code, r.response)
        for event_id in event_ids:
            self._logged.setdefault(event_id, None)

    # --- reads for a command (``layer``: its own changes so far) -----------------------------------
    async def state(self, layer: Layer, code: str) -> CylinderState | None:
        for known in (layer.states, self.staged.states):
            if code in known:
                return known[code]
        if code not in self._states:
            await self._load_cylinders([code])
        return self._states[code]

    async def head(self, layer: Layer, stream_id: str) -> StreamHead:
        for known in (layer.heads, self.staged.heads):
            if stream_id in known:
                return known[stream_id]
        if stream_id not in self._heads:
            if stream_id.startswith(CYLINDER_PREFIX):
                await self._load_cylinders([stream_id.removeprefix(CYLINDER_PREFIX)])
            else:
                await self._load_heads([stream_id])
        return self._heads[stream_id]

    async def entry(self, layer: Layer, kind: str, entry_id: str) -> dict[str, Any] | None:
        key = (kind, entry_id)
        for known in (layer.entries, self.staged.entries):
            if key in known:
                return dict(known[key])
        if key not in self._entries:
            await self._load_entries([key])
        entry = self._entries[key]
        return dict(entry) if entry is not None else None

    async def logged(self, layer: Layer, event_id: str) -> LoggedCommand | None:
        for known in (layer.commands, self.staged.commands):
            if event_id in known:
                return known[event_id]
        if event_id not in self._logged:
            await self._load_logged([event_id])
        return self._logged[event_id]

    def staged_states(self, layer: Layer) -> dict[str, CylinderState | None]:
        """The cylinders the batch has changed so far, as they are now."""
        return {**self.staged.states, **layer.states}

    def staged_events(self, layer: Layer, stream_id: str) -> list[RecordedEvent]:
        return [e for e in (*self.staged.events, *layer.events) if e.stream_id == stream_id]

    # --- generated codes ----------------------------------------------------------------------------
    async def next_serial(self, prefix: str, asset_type: int) -> str:
        """The next free serial for a prefix and asset type: claimed from the counter (one read per batch),
        skipping any serial a code was registered under by hand (checked against the store a block at a
        time). Serials claimed by a command that then fails are not handed out again."""
        key = (prefix, asset_type)
        if key not in self._serials:
            row = (await self.conn.execute(sa.select(code_counters.c.next_serial).where(
                code_counters.c.prefix == prefix, code_counters.c.asset_type == asset_type))).first()
            self._serials[key] = int(row.next_serial) if row else 1
        while True:
            free = self._free.get(key)
            if free:
                serial = free.pop(0)
                if not await self._taken(make_grai(prefix, asset_type, str(serial)).code):
                    self._counters_moved.add(key)
                    return str(serial)
                continue
            await self._claim_block(key)

    async def _claim_block(self, key: tuple[str, int]) -> None:
        """Look at the next block of serials: those whose code has no stream are free. A batch that
        hands out few codes checks few; one that hands out many checks them in growing blocks."""
        prefix, asset_type = key
        start = self._serials[key]
        size = self._next_block.get(key, _FIRST_SERIAL_BLOCK)
        self._next_block[key] = min(2 * size, _MOST_SERIAL_BLOCK)
        candidates = {n: make_grai(prefix, asset_type, str(n)).code for n in range(start, start + size)}
        taken = set((await self.conn.execute(sa.select(streams.c.stream_id).where(any_of(
            self.conn, streams.c.stream_id, [cylinder_stream(c) for c in candidates.values()])))).scalars())
        self._serials[key] = start + size
        self._counters_moved.add(key)
        free = [n for n, code in candidates.items() if cylinder_stream(code) not in taken]
        self._free[key] = free
        for n in free:
            self._heads.setdefault(cylinder_stream(candidates[n]), event_store.EMPTY_HEAD)
            self._states.setdefault(candidates[n], None)

    async def _taken(self, code: str) -> bool:
        return (await self.head(_NOTHING_STAGED, cylinder_stream(code))).version > 0

    # --- the end ------------------------------------------------------------------------------------
    async def write(self, projections: Sequence[Projection]) -> list[RecordedEvent]:
        """Store what the batch's commands staged, in the order they ran; returns the events as stored."""
        position = self._next_position  # read under the lock, which nobody else has taken since
        recorded = [RecordedEvent(position + i, *e[1:]) for i, e in enumerate(self.staged.events)]
        logged = Write(command_log, [
            {"event_id": c.event_id, "kind": c.kind, "body_hash": c.body_hash, "status_code": c.status,
             "response": c.response, "recorded_at": self.now} for c in self.staged.commands.values()])
        known: dict[str, Any] = {**self._states, **self.staged.states}
        plan = plan_appended(projections, recorded, known)
        await event_store.write_events(self.conn, recorded, logged, self._counter_write(), *plan.writes)
        await apply_appended(self.conn, plan, recorded, known)
        return recorded

    def _counter_write(self) -> Write:
        """The code counters as the batch leaves them: each at the first serial it did not hand out."""
        rows: list[Mapping[str, Any]] = []
        for prefix, asset_type in sorted(self._counters_moved):
            free = self._free.get((prefix, asset_type)) or []
            next_serial = free[0] if free else self._serials[(prefix, asset_type)]
            rows.append({"prefix": prefix, "asset_type": asset_type, "next_serial": next_serial})
        return Write(code_counters, rows, ("prefix", "asset_type"))
