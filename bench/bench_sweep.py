"""The sweeps (absence-of-event rules) over a province-sized fleet: 1,000,000 cylinders in the cylinders
projection (written with COPY), 20,000 customers (a tenth non-residential, most checked this month) and
300,000 fitted smart valves (a few silent for days). Manufacture dates spread over ten years, so some
cylinders are due for inspection soon, some overdue or past their life at customers or in stock.

Times ``run_sweeps`` twice: the first run opens a finding for everything it finds, the second (the
steady state of a daily schedule) finds them open already. Target: ≤ 10 s.

    .venv/bin/python bench/bench_sweep.py [--cylinders 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_gen import PREFIX, T0, StoreWriter, _registration, _registry
from bench.support import PG_DSN, plain_dsn, publish, scratch_database, sqlalchemy_url
from cylinder_trace.app.services import build_services
from cylinder_trace.app.sweeps import run_sweeps
from cylinder_trace.domain.codes import make_grai
from cylinder_trace.domain.cylinder import Holder, apply, state_to_json
from cylinder_trace.settings import Settings
from cylinder_trace.store.migrate import upgrade
from cylinder_trace.store.projections import save_checkpoints

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
CUSTOMERS = 20_000
CYLINDER_COLUMNS = ("code", "model", "status", "owner_company_id", "owner_customer_id", "company_id",
                    "smart_valve_id", "next_inspection_due", "life_expires_on", "state", "version", "head_hash")


def _fleet(n: int) -> list[tuple[Any, ...]]:
    rng = random.Random(11)
    base = apply(None, "CylinderRegistered", _registration(make_grai(PREFIX, 4, "G0").code, T0), 1)
    assert base is not None
    rows = []
    for i in range(n):
        made = date(2016, 1, 1) + timedelta(days=rng.randrange(3650))
        inspected = made + timedelta(days=365 * 4 * ((NOW.date() - made).days // (365 * 4)))
        due = inspected + timedelta(days=365 * 4 + rng.choice((0, 0, 0, -40, 20)))
        status = rng.choices(("at_customer", "empty_in_stock", "full_in_stock", "scrapped"), (60, 25, 12, 3))[0]
        customer = f"U{rng.randrange(CUSTOMERS)}" if status == "at_customer" else None
        valve = f"V{i:07d}" if i % 10 < 3 else None
        code = make_grai(PREFIX, 4, f"F{i:08d}").code
        state = replace(base, code=code, serial=code[14:], manufactured_on=made, status=status,  # type: ignore[arg-type]
                        next_inspection_due=due, life_expires_on=date(made.year + 8, made.month, made.day),
                        holder=Holder("customer", customer) if customer else Holder("company", "C1"),
                        customer_id=customer, smart_valve_id=valve, version=3)
        rows.append((code, state.model, status, "C1", None, "C1", valve, due, state.life_expires_on,
                     json.dumps(state_to_json(state)), 3, "0" * 64))
    return rows


async def write_fleet(dsn: str, n: int) -> float:
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        writer = StoreWriter()
        registry = list(_registry(writer, CUSTOMERS))
        await conn.copy_records_to_table("events", records=registry, columns=[
            "position", "stream_id", "version", "event_id", "type", "occurred_at", "recorded_at", "actor", "source",
            "data", "prev_hash", "hash"])
        await conn.copy_records_to_table("streams", records=[(s.stream_id, s.version, s.head)
                                                             for s in writer.streams.values()],
                                         columns=["stream_id", "version", "head_hash"])
        rows = _fleet(n)
        await conn.copy_records_to_table("cylinders", records=rows, columns=list(CYLINDER_COLUMNS))
        rng = random.Random(5)
        customers = []
        for k in range(CUSTOMERS):
            entry = {"id": f"U{k}", "company_id": "C1", "kind": "non_residential" if k % 10 == 0 else "residential",
                     "name": "饭店" if k % 10 == 0 else "张三", "id_number": "220102199001011234",
                     "phone": "13900000000", "address": "大岗子镇幸福街1号", "contract_no": "HT-1",
                     "premises": {"underground": False, "gas_alarm": True, "emergency_shutoff": True,
                                  "cylinder_room": False}}
            customers.append(("customer", f"U{k}", "C1", json.dumps(entry), 1, T0))
        await conn.execute("DELETE FROM registry WHERE kind = 'customer'")
        await conn.copy_records_to_table("registry", records=customers,
                                         columns=["kind", "id", "company_id", "data", "version", "updated_at"])
        checks = [(f"U{k}", NOW.date() - timedelta(days=rng.choice((3, 10, 50))), "0" * 36)
                  for k in range(0, CUSTOMERS, 10)]
        await conn.copy_records_to_table("customer_checks", records=checks,
                                         columns=["customer_id", "last_check_on", "last_event_id"])
        statuses = [(r[6], NOW - timedelta(hours=rng.choice((1, 2, 5, 100))), 80.0, 1)
                    for r in rows if r[6] is not None]
        await conn.copy_records_to_table("valve_status", records=statuses,
                                         columns=["valve_id", "last_seen", "battery_pct", "last_seq"])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cylinders", type=int, default=1_000_000)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    async with scratch_database("ct_bench_sweep") as name:
        url = sqlalchemy_url(PG_DSN, name)
        await asyncio.to_thread(upgrade, url)
        setup_s = await write_fleet(plain_dsn(PG_DSN, name), args.cylinders)
        print(f"wrote {args.cylinders:,} cylinders with COPY in {setup_s:.1f} s", flush=True)
        services = build_services(Settings(database_url=url, embedded_broker=False))
        try:
            async with services.engine.begin() as conn:  # the projections were written whole, as of now
                newest = (await conn.exec_driver_sql("SELECT max(position) FROM events")).scalar_one()
                await save_checkpoints(conn, {p.name: newest for p in services.uow.projections})
            runs = []
            for label in ("first run", "second run"):
                started = time.perf_counter()
                report = await run_sweeps(services.uow, NOW)
                runs.append((label, time.perf_counter() - started, report))
                print(f"{label}: {runs[-1][1]:.1f} s, {report.opened:,} findings opened, "
                      f"{report.already_open:,} already open, checked {report.checked}", flush=True)
        finally:
            await services.close()
    lines = "\n".join(f"| {label} | {seconds:.1f} | {report.opened:,} | {report.already_open:,} | "
                      f"{report.checked['cylinders']:,} |" for label, seconds, report in runs)
    publish("bench_sweep",
           f"{args.cylinders:,} cylinders, {CUSTOMERS:,} customers, fleet written with COPY in {setup_s:.0f} s.",
           f"| run | seconds | findings opened | already open | cylinders judged |\n|---|---:|---:|---:|---:|\n{lines}",
           args.markdown)


if __name__ == "__main__":
    asyncio.run(main())
