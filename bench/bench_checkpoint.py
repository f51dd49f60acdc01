"""A checkpoint over many streams on PostgreSQL: the heads query, the leaves, the tree, and a whole
``take_checkpoint``; then, after 1 % of the streams have moved on, what an export against that
checkpoint costs (the heads as of its position, the leaves, one inclusion proof).

    .venv/bin/python bench/bench_checkpoint.py [--streams 100000] [--events-per-stream 3]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres]

The events (and the ``streams`` heads) are written by INSERT … SELECT (their hashes are not chained: only
the heads count here), and the projections are told they have seen them (they hold nothing of them).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import PG_DSN, plain_dsn, scratch_database, sqlalchemy_url
from cylinder_trace.app.checkpoints import take_checkpoint
from cylinder_trace.app.services import build_services
from cylinder_trace.domain.checkpoints import leaf_hashes
from cylinder_trace.domain.merkle import inclusion_proof, merkle_root
from cylinder_trace.settings import Settings
from cylinder_trace.store.migrate import upgrade
from cylinder_trace.store.stream_heads import heads_at, heads_now

#: events $3 … of every $4-th stream of $1, from the next free position on
FILL = """
INSERT INTO events (position, stream_id, version, event_id, type, occurred_at, recorded_at, actor, source, data,
                    prev_hash, hash)
SELECT (SELECT coalesce(max(position), 0) FROM events) + row_number() OVER (ORDER BY v, s),
       'cylinder:' || lpad(s::text, 14, '0'), v, md5(s::text || '-' || v::text)::uuid::text, 'CylinderFilled',
       now(), now(), 'bench', 'api', '{"net_mass_kg": 14.5}', repeat('0', 64),
       encode(sha256((s::text || '-' || v::text)::bytea), 'hex')
FROM generate_series($3::int, $2::int) v, generate_series(1, $1::int, $4::int) s
"""
HEADS = """
INSERT INTO streams (stream_id, version, head_hash)
SELECT DISTINCT ON (stream_id) stream_id, version, hash FROM events ORDER BY stream_id, version DESC
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, head_hash = excluded.head_hash
"""
SEEN = "INSERT INTO projection_checkpoints (name, position) SELECT $1, max(position) FROM events " \
       "ON CONFLICT (name) DO UPDATE SET position = excluded.position"


def timed(label: str, started: float) -> float:
    elapsed = time.perf_counter() - started
    print(f"{label:<52} {elapsed:7.2f} s")
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=100_000)
    parser.add_argument("--events-per-stream", type=int, default=3)
    parser.add_argument("--dsn", default=PG_DSN)
    args = parser.parse_args()
    async with scratch_database("ct_bench_checkpoint", args.dsn) as name:
        url = sqlalchemy_url(args.dsn, name)
        await asyncio.to_thread(upgrade, url)
        conn = await asyncpg.connect(plain_dsn(args.dsn, name))
        started = time.perf_counter()
        await conn.execute(FILL, args.streams, args.events_per_stream, 1, 1)
        await conn.execute(HEADS)
        await conn.execute("ANALYZE")
        services = build_services(Settings(database_url=url, embedded_broker=False))
        try:
            projections = [(p.name,) for p in services.uow.projections]
            await conn.executemany(SEEN, projections)
            print(f"{args.streams} streams x {args.events_per_stream} events")
            timed("write the events (setup)", started)
            started = time.perf_counter()
            _, heads = await services.uow.read(heads_now)
            timed("heads now (one query)", started)
            started = time.perf_counter()
            leaves = leaf_hashes(heads)
            timed("leaf hashes", started)
            started = time.perf_counter()
            merkle_root(leaves)
            timed("tree root", started)
            started = time.perf_counter()
            taken = await take_checkpoint(services.uow, services.settings)
            timed("take_checkpoint (heads, tree, sign, append)", started)
            assert taken["statement"]["tree_size"] == args.streams
            n = args.events_per_stream + 1
            await conn.execute(FILL, args.streams, n, n, 100)  # 1 % of the streams move on
            await conn.execute(HEADS)
            await conn.executemany(SEEN, projections)
            started = time.perf_counter()
            then = await services.uow.read(lambda c: heads_at(c, taken["statement"]["position"]))
            timed("heads as of the checkpoint, 1 % moved since", started)
            started = time.perf_counter()
            root, _ = inclusion_proof(leaf_hashes(then), len(then) // 2)
            timed("an export's proof (leaves, one path)", started)
            assert root.hex() == taken["statement"]["root"]
        finally:
            await services.close()
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
