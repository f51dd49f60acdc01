"""The device-status rule has one definition, :class:`~cylinder_trace.domain.valves.DeviceStatus`; what
the store keeps after batches of reports is what that definition says, on SQLite and PostgreSQL.

Random reports of a few valves are split into random batches, stored through the real path
(:func:`cylinder_trace.app.device_status.record_statuses`: rows locked, merged, written back) in a
random order — some batches in transactions that run at the same time — and each stored row is compared
with the domain's result for the same reports in the order they were made. Presence (the status topic)
is last-word-wins, so it is checked in the order the batches committed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cylinder_trace.app.device_status import latest_presence, record_statuses
from cylinder_trace.domain.valves import DeviceStatus, Report, summarize
from cylinder_trace.store.db import create_engine
from cylinder_trace.store.valve_status import read_status

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
VALVES = ("A", "B", "C")
_run = itertools.count()


@dataclass(frozen=True)
class Batch:
    reports: list[tuple[str, Report]]
    presence: list[tuple[str, bool, datetime]]


_moments = st.integers(0, 10_000).map(lambda ms: T0 + timedelta(milliseconds=ms))
_readings = st.none() | st.floats(-200, 200, allow_nan=False).map(lambda x: round(x, 3))
_report = st.tuples(st.sampled_from(VALVES), st.builds(
    Report, seq=st.integers(1, 40), type=st.sampled_from(["heartbeat", "low_battery", "opened", "leak"]),
    received_at=_moments, battery_pct=_readings, rssi=_readings, level_pct=_readings))
_presence = st.tuples(st.sampled_from(VALVES), st.booleans(), _moments)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Batch], list[int], bool]:
    """Batches (in the order their reports were made), the order they commit in, and whether they run
    two at a time."""
    # a (valve, seq) is stored once (PROTOCOL.md): the reports of one valve have distinct seqs
    reports = draw(st.lists(_report, min_size=1, max_size=40, unique_by=lambda r: (r[0], r[1].seq)))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(reports) - 1)), max_size=6)))
    bounds = [0, *[c for c in cuts if c < len(reports)], len(reports)]
    batches = [Batch(reports[a:b], draw(st.lists(_presence, max_size=3))) for a, b in itertools.pairwise(bounds)]
    order = draw(st.permutations(range(len(batches))))
    return batches, list(order), draw(st.booleans())


async def _store(url: str, run: str, batches: list[Batch], order: list[int], together: bool) -> dict[str, DeviceStatus]:
    engine = create_engine(url)
    try:
        async def commit(batch: Batch) -> None:
            by_valve: dict[str, list[Report]] = defaultdict(list)
            for valve, report in batch.reports:
                by_valve[run + valve].append(report)
            async with engine.begin() as conn:
                await record_statuses(conn, {v: summarize(v, rs) for v, rs in by_valve.items()},
                                      latest_presence((run + v, online, at) for v, online, at in batch.presence))

        ordered = [batches[i] for i in order]
        if together:  # two transactions at a time, each waiting for the rows the other holds
            for i in range(0, len(ordered), 2):
                await asyncio.gather(*(commit(b) for b in ordered[i:i + 2]))
        else:
            for batch in ordered:
                await commit(batch)
        async with engine.connect() as conn:
            return {v: await read_status(conn, run + v) for v in VALVES}
    finally:
        await engine.dispose()


def expected(batches: list[Batch], order: list[int], with_presence: bool) -> dict[str, DeviceStatus]:
    """The domain's answer: every batch's summary merged in the order the reports were made, then the
    status topic's words in the order the batches committed."""
    out = {v: DeviceStatus() for v in VALVES}
    for batch in batches:
        by_valve: dict[str, list[Report]] = defaultdict(list)
        for valve, report in batch.reports:
            by_valve[valve].append(report)
        for valve, reports in by_valve.items():
            out[valve] = out[valve].merged(summarize(valve, reports))
    if with_presence:
        for i in order:
            for valve, (online, at) in latest_presence(batches[i].presence).items():
                out[valve] = out[valve].with_presence(online, at)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_the_stored_status_is_the_domain_rule_whatever_the_batches_and_their_order(
    db_url: str, scenario: tuple[list[Batch], list[int], bool],
) -> None:
    batches, order, together = scenario
    if together:  # which of two concurrent batches commits last is not known: presence is left out
        batches = [Batch(b.reports, []) for b in batches]
    run = f"P{next(_run)}-"
    stored = asyncio.run(_store(db_url, run, batches, order, together))
    want = expected(batches, order, with_presence=not together)
    for valve in VALVES:
        assert stored[valve] == want[valve], valve
