"""Rebuilding every projection from a store of 1,000,000 events, beside COPY writing the same rows.

The store is generated and written with COPY (``bench/store_gen.py``: 5,000 cylinders × 200 events,
interleaved in time as a town's are); ``cylinder-trace rebuild`` then replays it through the registry,
cylinders, findings and ledgers projections in one pass. Reports both rates; the target is ≥ 100,000
events/s for the rebuild.

    .venv/bin/python bench/bench_rebuild.py [--cylinders 5000] [--events 200] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_gen import copy_store
from bench.support import PG_DSN, plain_dsn, publish, scratch_database, sqlalchemy_url
from cylinder_trace.store.migrate import upgrade


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cylinders", type=int, default=5000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    rows = []
    async with scratch_database("ct_bench_rebuild") as name:
        url = sqlalchemy_url(PG_DSN, name)
        await asyncio.to_thread(upgrade, url)
        total, copy_s = await copy_store(plain_dsn(PG_DSN, name), args.cylinders, args.events)
        print(f"COPY: {total:,} events in {copy_s:.1f} s ({total / copy_s:,.0f}/s)", flush=True)
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            out = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "cylinder_trace.cli", "rebuild",
                                                           "--quiet"],
                                          check=True, capture_output=True, text=True,
                                          env={**os.environ, "CT_DATABASE_URL": url})
            seconds = time.perf_counter() - started
            print(out.stdout.strip(), f"(whole command {seconds:.1f} s)", flush=True)
            rows.append(f"| {run} | {total:,} | {copy_s:.1f} s ({total / copy_s:,.0f}/s) | {seconds:.1f} s "
                        f"({total / seconds:,.0f}/s, the whole command) | {out.stdout.strip()} |")
    publish("bench_rebuild", "",
           "| run | events | COPY of the same rows | rebuild of every projection | as the command reports it |\n"
           "|---|---:|---:|---:|---|\n" + "\n".join(rows), args.markdown)


if __name__ == "__main__":
    asyncio.run(main())
