"""Two ways to hand out a global position that followers never skip, measured side by side.

* **lock**: each transaction takes an advisory lock, reads the newest position and numbers its rows after
  it (what the event store does: positions gap-free and in commit order, one writer at a time);
* **xid8 horizon**: no lock; positions come from a sequence, each row keeps ``pg_current_xact_id()``, and
  a follower reads only rows of transactions older than ``pg_snapshot_xmin(pg_current_snapshot())``,
  ordered by (transaction, position) — appends to different streams commit in parallel.

Writers append rows of the events table's shape from ``--writers`` connections at once, one transaction
per write of ``--batch`` rows (1: a command per transaction; 50: group commit), for ``--seconds``. A
follower runs meanwhile and checks that it saw every row exactly once. Prints rows/s per strategy.

    .venv/bin/python bench/bench_append_order.py [--seconds 5] [--writers 1 8 32] [--batch 1 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import PG_DSN, plain_dsn, publish, scratch_database

TABLE = """
CREATE TABLE ev (position bigint PRIMARY KEY, tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
                 stream_id text NOT NULL, version int NOT NULL, event_id uuid NOT NULL UNIQUE, data json NOT NULL,
                 UNIQUE (stream_id, version));
CREATE SEQUENCE ev_seq;
CREATE INDEX ev_tx_position ON ev (tx, position);
"""
DATA = json.dumps({"station_id": "S1", "filler_id": "F1", "net_mass_kg": 14.5,
                   "checks": {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True}})


async def writer(dsn: str, strategy: str, batch: int, stop: float, number: int) -> int:
    conn = await asyncpg.connect(dsn)
    written, version = 0, 0
    stream = f"cylinder:{number}"
    try:
        while time.perf_counter() < stop:
            rows = [(stream, version + i + 1, uuid.uuid4(), DATA) for i in range(batch)]
            async with conn.transaction():
                if strategy == "lock":
                    await conn.execute("SELECT pg_advisory_xact_lock(42)")
                    first = await conn.fetchval("SELECT coalesce(max(position), 0) + 1 FROM ev")
                    await conn.executemany("INSERT INTO ev (position, stream_id, version, event_id, data) "
                                           "VALUES ($1, $2, $3, $4, $5)",
                                           [(first + i, *row) for i, row in enumerate(rows)])
                else:
                    await conn.executemany("INSERT INTO ev (position, stream_id, version, event_id, data) "
                                           "VALUES (nextval('ev_seq'), $1, $2, $3, $4)", rows)
            version += batch
            written += batch
    finally:
        await conn.close()
    return written


async def follower(dsn: str, strategy: str, done: asyncio.Event, expected: list[int]) -> list[int]:
    """Every position seen, in the order seen; after ``done``, until it has seen ``expected[0]`` rows or
    5 s have passed (the xid8 horizon waits for every older transaction of the cluster to end)."""
    conn = await asyncpg.connect(dsn)
    seen: list[int] = []
    last_tx, last_position = 0, 0
    try:
        while True:
            finished = done.is_set()
            if strategy == "lock":
                rows = await conn.fetch("SELECT position FROM ev WHERE position > $1 ORDER BY position LIMIT 5000",
                                        last_position)
                seen += [r[0] for r in rows]
                if rows:
                    last_position = rows[-1][0]
            else:
                rows = await conn.fetch(
                    "SELECT tx::text::bigint AS tx, position FROM ev WHERE (tx, position) > ($1::text::xid8, $2) "
                    "AND tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx, position LIMIT 5000",
                    str(last_tx), last_position)
                seen += [r[1] for r in rows]
                if rows:
                    last_tx, last_position = rows[-1][0], rows[-1][1]
            if not rows:
                if finished and (len(seen) >= expected[0] or time.perf_counter() > expected[1]):
                    return seen
                await asyncio.sleep(0.002)
    finally:
        await conn.close()


async def run(strategy: str, writers: int, batch: int, seconds: float) -> tuple[float, bool, float]:
    async with scratch_database("ct_bench_order") as name:
        dsn = plain_dsn(PG_DSN, name)
        conn = await asyncpg.connect(dsn)
        await conn.execute(TABLE)
        await conn.close()
        done = asyncio.Event()
        expected = [0, 0.0]
        follow = asyncio.create_task(follower(dsn, strategy, done, expected))  # type: ignore[arg-type]
        stop = time.perf_counter() + seconds
        started = time.perf_counter()
        counts = await asyncio.gather(*(writer(dsn, strategy, batch, stop, n) for n in range(writers)))
        elapsed = time.perf_counter() - started
        total = sum(counts)
        expected[:] = [total, time.perf_counter() + 5.0]
        done.set()
        seen = await follow
        caught_up_ms = (time.perf_counter() - started - elapsed) * 1000
        conn = await asyncpg.connect(dsn)
        stored = sorted(r[0] for r in await conn.fetch("SELECT position FROM ev"))
        await conn.close()
        complete = sorted(seen) == stored and len(seen) == len(set(seen)) == total
        return total / elapsed, complete, caught_up_ms


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    rows = ["| writers | rows per transaction | lock: rows/s | xid8 horizon: rows/s | follower complete, "
            "ms after the last commit |", "|---:|---:|---:|---:|---|"]
    for batch in args.batch:
        for writers in args.writers:
            lock, lock_ok, lock_ms = await run("lock", writers, batch, args.seconds)
            horizon, horizon_ok, horizon_ms = await run("xid8", writers, batch, args.seconds)
            rows.append(f"| {writers} | {batch} | {lock:,.0f} | {horizon:,.0f} | "
                        f"lock {'yes' if lock_ok else 'NO'} {lock_ms:.0f} ms, "
                        f"xid8 {'yes' if horizon_ok else 'NO'} {horizon_ms:.0f} ms |")
            print(rows[-1], flush=True)
    publish("bench_append_order", f"{args.seconds:.0f} s per cell.", "\n".join(rows), args.markdown)


if __name__ == "__main__":
    asyncio.run(main())
