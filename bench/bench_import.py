"""Census import throughput: a generated census (tests/support/census.py, ~2 % bad rows) imported into a
fresh SQLite file and a fresh PostgreSQL database, then imported again (nothing new is stored).

    .venv/bin/python bench/bench_import.py [ROWS] [--batch N]

Run from the repository root (it uses the test factories): ``PYTHONPATH=. .venv/bin/python bench/…``.
Prints rows/s per backend and run; results are kept in bench/RESULTS-import.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from cylinder_trace.api.main import create_app
from cylinder_trace.app.census import CHUNK_ROWS, import_census
from cylinder_trace.app.services import build_services
from cylinder_trace.runtime import tune_gc_for_streaming
from cylinder_trace.settings import Settings
from cylinder_trace.store.migrate import upgrade
from tests.support import factories as f
from tests.support.census import PREFIX, TAKEN_CODE, make_census

PG_DSN = os.environ.get("CT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "bench-admin-token"


async def town(settings: Settings) -> None:
    services = build_services(settings)
    app = create_app(settings, services)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            await f.company(c, gs1_company_prefix=PREFIX)
            await f.company(c, "C2")
            await f.customer(c, "U1")
            await f.customer(c, "U9", company_id="C2")
            await f.cylinder(c, code=TAKEN_CODE)
    finally:
        await services.close()


async def run(url: str, path: Path, batch: int) -> list[tuple[str, float, int, int, int]]:
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, admin_token=TOKEN, embedded_broker=False)
    await town(settings)
    results = []
    for label in ("first run", "second run"):
        services = build_services(settings)
        try:
            started = time.perf_counter()
            report = await import_census(services.uow, path, "C1", services.codes, batch_size=batch)
            elapsed = time.perf_counter() - started
        finally:
            await services.close()
        results.append((label, elapsed, report.imported, report.already_present, report.error_rows))
    return results


async def main() -> None:
    tune_gc_for_streaming()  # as `cylinder-trace import` does
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="?", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=CHUNK_ROWS)
    args = parser.parse_args()
    census = make_census(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = census.write_csv(Path(tmp) / "census.csv")
        name = f"ct_bench_import_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_DSN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            backends = {
                "SQLite": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}",
                "PostgreSQL": PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}",
            }
            print(f"{args.rows} rows ({census.good} good, {len(census.expected_errors)} bad), batch {args.batch}")
            for backend, url in backends.items():
                for label, elapsed, imported, present, errors in await run(url, path, args.batch):
                    print(f"{backend:10} {label:10} {elapsed:7.1f} s {args.rows / elapsed:7.0f} rows/s  "
                          f"imported {imported}, already present {present}, rows with errors {errors}")
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
