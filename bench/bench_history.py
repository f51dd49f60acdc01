"""A cylinder's history over HTTP with a large store behind it: ``GET /api/v1/cylinders/{code}/history``
of 200-event cylinders, sequentially, with 1,000,000 events stored (written with COPY by
``bench/store_gen.py``, the projections rebuilt by ``cylinder-trace rebuild``), as a company's staff
reads it (its own token). Reports p50/p99 latency; the target is p99 ≤ 10 ms.

    .venv/bin/python bench/bench_history.py [--cylinders 5000] [--events 200] [--reads 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_gen import code_of, copy_store
from bench.support import PG_DSN, drive, get, plain_dsn, publish, scratch_database, sqlalchemy_url, uvicorn_server
from cylinder_trace.store.migrate import upgrade

ADMIN = "bench-admin-token"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cylinders", type=int, default=5000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    async with scratch_database("ct_bench_history") as name:
        url = sqlalchemy_url(PG_DSN, name)
        await asyncio.to_thread(upgrade, url)
        total, copy_s = await copy_store(plain_dsn(PG_DSN, name), args.cylinders, args.events)
        print(f"stored {total:,} events with COPY in {copy_s:.1f} s ({total / copy_s:,.0f}/s)", flush=True)
        started = time.perf_counter()
        await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "cylinder_trace.cli", "rebuild", "--quiet"],
                                check=True, env={**os.environ, "CT_DATABASE_URL": url})
        print(f"projections rebuilt in {time.perf_counter() - started:.1f} s", flush=True)
        env = {"CT_DATABASE_URL": url, "CT_ADMIN_TOKEN": ADMIN, "CT_EMBEDDED_BROKER": "false",
               "CT_MQTT_URL": "mqtt://127.0.0.1:1883", "CT_SWEEP_INTERVAL_S": "0", "CT_LOG_LEVEL": "WARNING"}
        with tempfile.TemporaryDirectory() as tmp, uvicorn_server("cylinder_trace.api.main:create_app", env,
                                                                  Path(tmp)) as server:
            async with httpx.AsyncClient(base_url=server.base, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
                made = await c.post("/api/v1/principals", json={"role": "company_admin", "name": "bench",
                                                                "company_id": "C1"})
                token = made.json()["token"]
                sample = (await c.get(f"/api/v1/cylinders/{code_of(0)}/history",
                                      headers={"Authorization": f"Bearer {token}"})).json()
                assert len(sample["events"]) == args.events, len(sample["events"])
                verify = (await c.get(f"/api/v1/cylinders/{code_of(0)}/verify")).json()
                assert verify["valid"], verify
            rng = random.Random(7)
            requests = [get(f"/api/v1/cylinders/{code_of(rng.randrange(args.cylinders))}/history", token)
                        for _ in range(args.reads)]
            await drive(server.port, requests[:100], 1)  # warm the connection pool and the caches
            report = await drive(server.port, requests, 1)
    line = (f"| history of a {args.events}-event cylinder, {total:,} events stored, 1 client | "
            f"{report.rate:,.0f}/s | {report.percentile(50) * 1000:.2f} | {report.percentile(99) * 1000:.2f} | "
            f"{dict(report.statuses)} |")
    publish("bench_history", f"COPY wrote {total:,} events in {copy_s:.1f} s.",
           f"| run | reads/s | p50 ms | p99 ms | statuses |\n|---|---:|---:|---:|---|\n{line}", args.markdown)


if __name__ == "__main__":
    asyncio.run(main())
