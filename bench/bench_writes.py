"""Writes over HTTP: registrations and fills through the service, beside a minimal FastAPI + asyncpg
endpoint (``bench/baseline_app.py``) given the same bodies by the same clients, in the same run.

Each side runs as one uvicorn worker on a database of its own on the local PostgreSQL. The service is
the app ``cylinder-trace serve`` runs (with its MQTT side connected to the local Mosquitto); the clients
use a station operator's token, so every request is authenticated against the database as in use.

* registrations: ``POST /api/v1/cylinders`` with a serial, ``--register-clients`` at once;
* fills: ``POST /api/v1/fills`` of the cylinders just registered (every rule, the hash chain, the
  projections and the findings ledger on the way), ``--fill-clients`` at once.

Each server first answers 300 registrations that are not measured (statements prepared, caches filled).
Reports requests/s, p50 and p99 latency, the statuses, the server process's CPU time per request, and
each rate as a ratio of the baseline's. ``--eventsourcing`` adds the ``eventsourcing`` library's
PostgreSQL recorder (one event per transaction from 16 threads) on the same server. ``--profile DIR``
records the service's registration and fill runs with py-spy. ``--markdown FILE`` appends the results.

    .venv/bin/python bench/bench_writes.py [--cylinders 2000] [--rounds 2] [--eventsourcing]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import (
    PG_DSN,
    LoadReport,
    Server,
    drive,
    plain_dsn,
    post,
    postgres_cpu_seconds,
    publish,
    scratch_database,
    sqlalchemy_url,
    uvicorn_server,
)
from cylinder_trace.store.migrate import upgrade

ADMIN = "bench-admin-token"
#: requests each server answers before the measured ones (statements prepared, caches filled)
WARM_UP = 300


@dataclass
class Phase:
    """One side's run of one kind of request, with the CPU time its server and PostgreSQL spent on it."""

    report: LoadReport
    server_cpu: float
    postgres_cpu: float


@dataclass
class Side:
    name: str
    registrations: Phase
    fills: Phase


async def measured(server: Server, load: Awaitable[LoadReport]) -> Phase:
    cpu, pg = server.cpu(), postgres_cpu_seconds()
    report = await load
    return Phase(report, server.cpu() - cpu, postgres_cpu_seconds() - pg)


def registration_bodies(n: int, run: str) -> list[bytes]:
    return [json.dumps({
        "event_id": str(uuid.uuid4()), "serial": f"B{run}{i:06d}", "model": "YSP35.5", "manufacturer_code": "M01",
        "manufactured_on": "2023-05-01", "owner": {"company_id": "C1"}, "occurred_at": "2023-09-01T09:00:00+08:00",
    }).encode() for i in range(n)]


def fill_bodies(codes: list[str]) -> list[bytes]:
    now = datetime.now(UTC).isoformat()
    return [json.dumps({
        "event_id": str(uuid.uuid4()), "code": code, "station_id": "S1", "filler_id": "F1", "occurred_at": now,
        "net_mass_kg": 14.5, "checks": {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True},
    }).encode() for code in codes]


async def town(base: str) -> str:
    """A company, a station, a filler and a station operator's token."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30) as c:
        for path, body in (
            ("/api/v1/companies", {"id": "C1", "name": "大岗子燃气有限公司", "licence_no": "JL-GAS-001",
                                   "licence_valid_until": "2030-12-31"}),
            ("/api/v1/stations", {"id": "S1", "company_id": "C1", "name": "一号充装站", "licence_no": "TS-001",
                                  "licence_valid_until": "2030-12-31"}),
            ("/api/v1/staff", {"id": "F1", "company_id": "C1", "name": "王师傅", "phone": "13800000001",
                               "kind": "filler", "certificate_no": "CERT-F1", "certificate_valid_until": "2030-12-31"}),
        ):
            response = await c.post(path, json=body)
            assert response.status_code in (200, 201), response.text
        response = await c.post("/api/v1/principals", json={"role": "station_operator", "name": "一号站",
                                                             "company_id": "C1", "station_id": "S1"})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


async def service_side(n: int, register_clients: int, fill_clients: int, run: str, workdir: Path,
                       profile: Path | None, fill_rate: float = 0.0) -> Side:
    async with scratch_database("ct_bench_writes") as name:
        url = sqlalchemy_url(PG_DSN, name)
        await asyncio.to_thread(upgrade, url)
        env = {"CT_DATABASE_URL": url, "CT_ADMIN_TOKEN": ADMIN, "CT_EMBEDDED_BROKER": "false",
               "CT_MQTT_URL": "mqtt://127.0.0.1:1883", "CT_SWEEP_INTERVAL_S": "0", "CT_LOG_LEVEL": "WARNING"}
        with uvicorn_server("cylinder_trace.api.main:create_app", env, workdir) as server:
            token = await town(server.base)
            bodies = registration_bodies(n, run)
            await drive(server.port, [post("/api/v1/cylinders", b, token)  # warm-up: not measured
                                      for b in registration_bodies(WARM_UP, run + "w")], register_clients)
            spy = _profile(server.proc.pid, profile, "registrations") if profile else None
            requests = [post("/api/v1/cylinders", b, token) for b in bodies]
            registered = await measured(server, drive(server.port, requests, register_clients, keep_bodies=True))
            if spy is not None:
                spy.wait(60)
            codes = [json.loads(b)["code"] for b in registered.report.bodies if b.startswith(b'{"code"')]
            fills = [post("/api/v1/fills", b, token) for b in fill_bodies(codes)]
            spy = _profile(server.proc.pid, profile, "fills") if profile else None
            filled = await measured(server, drive(server.port, fills, fill_clients, rate=fill_rate))
            if spy is not None:
                spy.wait(60)
            async with httpx.AsyncClient() as c:
                print(batch_summary((await c.get(f"{server.base}/metrics")).text), flush=True)
    return Side("service", registered, filled)


def batch_summary(metrics: str) -> str:
    """How the appender grouped the writes of the run (its Prometheus histograms)."""
    values = {}
    for text in metrics.splitlines():
        for name in ("ct_write_batch_jobs_sum", "ct_write_batch_jobs_count", "ct_write_batch_seconds_sum"):
            if text.startswith(name + " "):
                values[name] = float(text.split()[1])
    batches = values.get("ct_write_batch_jobs_count", 0) or 1
    return (f"appender: {batches:.0f} transactions, {values.get('ct_write_batch_jobs_sum', 0) / batches:.1f} writes "
            f"each, {values.get('ct_write_batch_seconds_sum', 0) / batches * 1000:.1f} ms each")


def _profile(pid: int, folder: Path, phase: str) -> subprocess.Popen[bytes]:
    """py-spy on the server for the next 8 s (give enough cylinders to keep it busy that long)."""
    folder.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", "8", "--rate", "250",
                             "--format", "raw", "--output", str(folder / f"{phase}.txt"), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def baseline_side(n: int, register_clients: int, fill_clients: int, run: str, workdir: Path) -> Side:
    async with scratch_database("ct_bench_baseline") as name:
        env = {"CT_BASELINE_DSN": plain_dsn(PG_DSN, name)}
        with uvicorn_server("bench.baseline_app:create_app", env, workdir) as server:
            bodies = registration_bodies(n, run)
            await drive(server.port, [post("/api/v1/cylinders", b)  # warm-up: not measured
                                      for b in registration_bodies(WARM_UP, run + "w")], register_clients)
            registered = await measured(server, drive(server.port, [post("/api/v1/cylinders", b) for b in bodies],
                                                      register_clients))
            codes = [f"06901234000048{i:06d}" for i in range(n)]
            filled = await measured(server, drive(server.port, [post("/api/v1/fills", b) for b in fill_bodies(codes)],
                                                  fill_clients))
    return Side("baseline", registered, filled)


def eventsourcing_rate(events: int, threads: int = 16) -> float:
    """The ``eventsourcing`` library's PostgreSQL recorder: one event per transaction, ``threads`` at once."""
    script = Path(__file__).with_name("eventsourcing_recorder.py")
    out = subprocess.run([sys.executable, str(script), "--events", str(events), "--threads", str(threads),
                          "--dsn", PG_DSN], capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["events_per_s"])


def line(label: str, phase: Phase, base: Phase | None = None) -> str:
    report = phase.report
    ratio = f"{report.rate / base.report.rate:.2f}" if base else "—"
    return (f"| {label} | {report.rate:,.0f} | {report.percentile(50) * 1000:.1f} | "
            f"{report.percentile(99) * 1000:.1f} | {phase.server_cpu / report.requests * 1000:.2f} | "
            f"{phase.postgres_cpu / report.requests * 1000:.2f} | {ratio} | {dict(sorted(report.statuses.items()))} |")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cylinders", type=int, default=2000)
    parser.add_argument("--register-clients", type=int, default=32)
    parser.add_argument("--fill-clients", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--fill-rate", type=float, default=0.0,
                        help="also run the service's fills open-loop at this many a second (latency at a load "
                             "below saturation)")
    parser.add_argument("--eventsourcing", action="store_true")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    rows = ["| run | requests/s | p50 ms | p99 ms | server CPU ms/request | PostgreSQL CPU ms/request | ratio to "
            "baseline | statuses |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, args.rounds + 1):
            run = f"{round_no}{uuid.uuid4().hex[:3]}"
            base = await baseline_side(args.cylinders, args.register_clients, args.fill_clients, run, Path(tmp))
            svc = await service_side(args.cylinders, args.register_clients, args.fill_clients, run, Path(tmp),
                                     args.profile)
            rows += [
                line(f"{round_no}: baseline registrations ({args.register_clients} clients)", base.registrations),
                line(f"{round_no}: service registrations ({args.register_clients} clients)", svc.registrations,
                     base.registrations),
                line(f"{round_no}: baseline fills ({args.fill_clients} clients)", base.fills),
                line(f"{round_no}: service fills ({args.fill_clients} clients)", svc.fills, base.fills),
            ]
            for row in rows[-4:]:
                print(row, flush=True)
            if args.fill_rate:
                paced = await service_side(args.cylinders, args.register_clients, args.fill_clients, run + "p",
                                           Path(tmp), None, args.fill_rate)
                rows.append(line(f"{round_no}: service fills, {args.fill_clients} clients at {args.fill_rate:,.0f}/s "
                                 "offered (open loop)", paced.fills, base.fills))
                print(rows[-1], flush=True)
        if args.eventsourcing:
            rate = eventsourcing_rate(args.cylinders)
            rows.append(f"| eventsourcing recorder (16 threads, 1 event per transaction) | {rate:,.0f} | | | | | | |")
            print(rows[-1])
    publish("bench_writes", f"{args.cylinders} registrations then {args.cylinders} fills per run.",
           "\n".join(rows), args.markdown)


if __name__ == "__main__":
    asyncio.run(main())
