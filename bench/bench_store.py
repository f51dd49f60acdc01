"""Single-event appends through the event store on PostgreSQL, next to raw asyncpg INSERTs into a table
of the same shape, in the same run. Prints appends/s for both and their ratio.

    .venv/bin/python bench/bench_store.py [--events 3000] [--dsn postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import PG_DSN, plain_dsn, scratch_database, sqlalchemy_url
from cylinder_trace.store import event_store as es
from cylinder_trace.store.db import create_engine
from cylinder_trace.store.event_store import PendingEvent
from cylinder_trace.store.migrate import upgrade

RAW_TABLE = """
CREATE TABLE raw_events (
    position bigserial PRIMARY KEY, stream_id varchar(200) NOT NULL, version integer NOT NULL,
    event_id varchar(36) NOT NULL UNIQUE, type varchar(80) NOT NULL, occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL, actor varchar(200) NOT NULL, source varchar(16) NOT NULL,
    data json NOT NULL, prev_hash varchar(64) NOT NULL, hash varchar(64) NOT NULL,
    UNIQUE (stream_id, version))
"""
DATA = {"station_id": "S1", "filler_id": "F1", "net_mass_kg": 14.5,
        "checks": {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True}}


async def raw_inserts(dsn: str, n: int, streams: int) -> float:
    conn = await asyncpg.connect(dsn)
    await conn.execute(RAW_TABLE)
    versions = [0] * streams
    now = datetime.now(UTC)
    start = time.perf_counter()
    for i in range(n):
        s = i % streams
        versions[s] += 1
        await conn.execute(
            "INSERT INTO raw_events (stream_id, version, event_id, type, occurred_at, recorded_at, actor, source,"
            " data, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
            f"cylinder:{s}", versions[s], str(uuid.uuid4()), "CylinderFilled", now, now, "bench", "api",
            json.dumps(DATA), "0" * 64, "f" * 64,
        )
    elapsed = time.perf_counter() - start
    await conn.close()
    return n / elapsed


async def store_appends(url: str, n: int, streams: int) -> float:
    engine = create_engine(url)
    now = datetime.now(UTC)
    start = time.perf_counter()
    for i in range(n):
        async with engine.begin() as conn:
            await es.append(conn, f"cylinder:{i % streams}", None,
                            [PendingEvent(str(uuid.uuid4()), "CylinderFilled", DATA, now, "bench")], now)
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return n / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--dsn", default=PG_DSN)
    args = parser.parse_args()
    async with scratch_database("ct_bench_store", args.dsn) as name:
        url = sqlalchemy_url(args.dsn, name)
        await asyncio.to_thread(upgrade, url)
        raw = await raw_inserts(plain_dsn(args.dsn, name), args.events, args.streams)
        store = await store_appends(url, args.events, args.streams)
    print(f"events per run           {args.events} over {args.streams} streams, one event per transaction")
    print(f"raw asyncpg INSERT       {raw:8.0f} rows/s (autocommit, same columns and unique keys)")
    print(f"event store append       {store:8.0f} appends/s (idempotency check, lock, head read, hash, insert)")
    print(f"ratio store/raw          {store / raw:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
