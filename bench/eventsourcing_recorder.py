"""The Python ``eventsourcing`` library's PostgreSQL application recorder as a reference point: one
event per transaction (``insert_events`` of one stored event), from ``--threads`` threads at once, on a
new database of the local server. Prints one JSON line ``{"events_per_s": …}``.

    .venv/bin/python bench/eventsourcing_recorder.py [--events 2000] [--threads 16]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import time
import uuid
from urllib.parse import urlparse

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

STATE = json.dumps({"station_id": "S1", "filler_id": "F1", "net_mass_kg": 14.5,
                    "checks": {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True}}).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    dsn = urlparse(args.dsn)
    name = f"ct_bench_es_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        datastore = PostgresDatastore(name, dsn.hostname or "127.0.0.1", dsn.port or 5432, dsn.username or "postgres",
                                      dsn.password or "", pool_size=args.threads, max_overflow=0)
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        ids = [uuid.uuid4() for _ in range(args.events)]

        def one(originator: uuid.UUID) -> None:
            recorder.insert_events([StoredEvent(originator, 1, "bench:CylinderFilled", STATE)])

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(one, ids))
        elapsed = time.perf_counter() - started
        datastore.close()
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps({"events_per_s": args.events / elapsed, "events": args.events, "threads": args.threads}))


if __name__ == "__main__":
    main()
