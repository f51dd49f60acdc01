"""Durable ingest rate of ``cylinder-trace ingest`` next to a bare paho subscriber, same broker, same run.

Both consumers are separate processes subscribed at QoS 1 to ``ct/v1/valves/+/events`` on a private
Mosquitto started from ``deploy/mosquitto.conf``. The publisher is the valve simulator's load mode
(``python -m firmware_sim load``: signed heartbeats of many valves over 4 connections, QoS 1, at an
unreachable target rate, so as fast as it can). Two measurements each:

* **live** (simulator → broker → consumer, end to end): the consumer is connected while the simulator
  sends N messages; the rate runs from the first message the consumer has (stored, for the ingestor)
  to the last, while the simulator and the consumer share the machine's two cores.
* **backlog**: N messages are queued at the broker for the consumer's persistent session while it is
  away, then it connects and drains them. This is what the consumer can take, without a publisher
  competing for the CPU.

The bare subscriber only counts (paho acknowledges each message as it arrives); the ingestor verifies,
stores every message in PostgreSQL and acknowledges after the commit, and its rate is counted in the
database (``valve_messages`` rows). Prints a table and the ratio; ``--markdown`` writes it as a report.
``--ingestors 2`` runs two ingest processes on the shared subscription (MQTT 5).

    .venv/bin/python bench/bench_ingest.py [--messages 80000] [--valves 1000] [--protocol 5] [--ingestors 1]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--markdown bench/RESULTS-ingest.md]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from firmware_sim.registry import derive_secret, valve_ids  # noqa: E402
from tests.integration.ingest.infra import (  # noqa: E402
    IngestProcess,
    RestartableMosquitto,
    counts_now,
    create_database,
    drop_database,
    prepare_database,
)

#: the bare subscriber: counts QoS 1 messages (paho acknowledges each on arrival) and prints a JSON line
BARE_SUBSCRIBER = textwrap.dedent("""
    import json, sys, threading, time
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    host, port, client_id, protocol = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    expected = int(sys.argv[5])
    v5 = protocol == "5"
    c = (mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5) if v5 else
         mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=False))
    count, first, last, done, ready = 0, None, None, threading.Event(), threading.Event()
    def on_connect(cl, ud, flags, rc, props):
        cl.subscribe("ct/v1/valves/+/events", qos=1)
    def on_subscribe(cl, ud, mid, rcs, props):
        ready.set()
    def on_message(cl, ud, msg):
        global count, first, last
        now = time.perf_counter()
        first = first or now
        last = now
        count += 1
        if count >= expected:
            done.set()
    c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
    kwargs = {}
    if v5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        kwargs = {"clean_start": False, "properties": props}
    c.connect(host, port, **kwargs)
    c.loop_start()
    ready.wait(30)
    print(json.dumps({"ready": True}), flush=True)
    if expected == 0:
        time.sleep(0.5); c.disconnect(); c.loop_stop(); sys.exit(0)
    done.wait(600)
    c.disconnect(); c.loop_stop()
    print(json.dumps({"count": count, "seconds": (last - first) if first else 0.0}), flush=True)
""")


@dataclass(frozen=True, slots=True)
class Rate:
    messages: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


SEED = "bench-valve-seed"
PREFIX = "B"


@dataclass
class Simulator:
    """``firmware_sim load`` for the bench's valves; each run continues their ``seq`` (its state dir)."""

    valves: int
    state_dir: Path

    def publish(self, broker: RestartableMosquitto, protocol: str, count: int) -> Rate:
        """Send ``count`` heartbeats as fast as the simulator can; its rate up to the last PUBACK."""
        rate = 1_000_000.0
        run = subprocess.run(
            [sys.executable, "-m", "firmware_sim", "load", "--valves", str(self.valves), "--rate", str(rate),
             "--duration", repr(count / rate), "--clients", "4", "--prefix", PREFIX, "--seed", SEED,
             "--url", broker.url, "--protocol", protocol, "--state-dir", str(self.state_dir), "--json"],
            cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"the simulator failed ({run.returncode}):\n{run.stderr[-2000:]}")
        result = json.loads(run.stdout.strip().splitlines()[-1])
        if result["acked"] != count:
            raise RuntimeError(f"the broker acknowledged {result['acked']} of {count} messages: {result}")
        return Rate(result["acked"], result["total_s"])


def drop_session(broker: RestartableMosquitto, client_id: str, protocol: str) -> None:
    """End a consumer's persistent session, so the broker stops queueing the next phases' messages for it."""
    if protocol == "5":
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        client.connect(broker.host, broker.port, clean_start=True)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                             clean_session=True)
        client.connect(broker.host, broker.port)
    client.loop_start()
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()


# --- the bare subscriber ------------------------------------------------------------------------------


def bare_process(broker: RestartableMosquitto, client_id: str, protocol: str, expected: int) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", BARE_SUBSCRIBER, broker.host, str(broker.port), client_id,
                                protocol, str(expected)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line or not json.loads(line).get("ready"):
        raise RuntimeError("the bare subscriber did not subscribe")
    return process


def bare_result(process: subprocess.Popen[str]) -> Rate:
    assert process.stdout is not None
    result = json.loads(process.stdout.readline())
    process.wait(60)
    return Rate(result["count"], result["seconds"])


def bare_backlog(broker: RestartableMosquitto, protocol: str, sim: Simulator, n: int) -> Rate:
    client_id = f"bench-bare-{uuid.uuid4().hex[:6]}"
    bare_process(broker, client_id, protocol, 0).wait(30)  # the session exists; the consumer is away
    sim.publish(broker, protocol, n)
    try:
        return bare_result(bare_process(broker, client_id, protocol, n))
    finally:
        drop_session(broker, client_id, protocol)


def bare_live(broker: RestartableMosquitto, protocol: str, sim: Simulator, n: int) -> tuple[Rate, Rate]:
    client_id = f"bench-bare-{uuid.uuid4().hex[:6]}"
    process = bare_process(broker, client_id, protocol, n)
    sent = sim.publish(broker, protocol, n)
    try:
        return bare_result(process), sent
    finally:
        drop_session(broker, client_id, protocol)


# --- the ingestor -------------------------------------------------------------------------------------


class RowCounter:
    """``count(*)`` of ``valve_messages`` over one connection kept open (polling must not load the box)."""

    def __init__(self, url: str) -> None:
        self.dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(self.dsn))

    def __call__(self) -> int:
        return int(self.loop.run_until_complete(self.conn.fetchval("SELECT count(*) FROM valve_messages")))

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


def wait_rows(count: RowCounter, target: int, ingestors: list[IngestProcess],
              timeout: float = 900) -> tuple[float, int, float]:
    """Poll until ``target`` rows: (time of the first poll that saw progress, rows then, time of the last)."""
    first_at, first_rows = None, 0
    deadline = time.monotonic() + timeout
    base = count()
    while time.monotonic() < deadline:
        for ingestor in ingestors:
            if not ingestor.alive:
                raise RuntimeError(f"an ingestor died:\n{ingestor.log()[-2000:]}")
        rows = count()
        now = time.perf_counter()
        if first_at is None and rows > base:
            first_at, first_rows = now, rows
        if rows >= target:
            assert first_at is not None
            return first_at, first_rows, now
        time.sleep(0.05)
    raise RuntimeError(f"only {count()} of {target} rows after {timeout} s")


def started(url: str, broker: RestartableMosquitto, client_id: str, protocol: str, log_dir: Path,
            processes: int) -> list[IngestProcess]:
    """``processes`` ingestors, connected (more than one share the subscription: MQTT 5)."""
    ids = [client_id] if processes == 1 else [f"{client_id}-{k}" for k in range(processes)]
    group = [IngestProcess(url, broker.url, i, protocol, log_dir) for i in ids]
    for ingestor in group:
        ingestor.start()
    for ingestor in group:
        ingestor.wait_connected()
    time.sleep(0.5)
    return group


def stopped(group: list[IngestProcess], broker: RestartableMosquitto, protocol: str) -> None:
    for ingestor in group:
        ingestor.terminate()
        drop_session(broker, ingestor.client_id, protocol)


def ingest_backlog(broker: RestartableMosquitto, url: str, count: RowCounter, protocol: str, sim: Simulator, n: int,
                   client_id: str, log_dir: Path, processes: int = 1) -> Rate:
    group = started(url, broker, client_id, protocol, log_dir, processes)
    for ingestor in group:
        assert ingestor.terminate() == 0  # graceful: the session stays at the broker
    before = count()
    sim.publish(broker, protocol, n)
    for ingestor in group:
        ingestor.start()
    try:
        first_at, first_rows, done_at = wait_rows(count, before + n, group)
    finally:
        stopped(group, broker, protocol)
    return Rate(before + n - first_rows, done_at - first_at)


def ingest_live(broker: RestartableMosquitto, url: str, count: RowCounter, protocol: str, sim: Simulator, n: int,
                client_id: str, log_dir: Path, processes: int = 1) -> tuple[Rate, Rate]:
    """Like the bare subscriber's, the rate runs from the first message stored to the last."""
    group = started(url, broker, client_id, protocol, log_dir, processes)
    before = count()
    watcher, live_count = concurrent.futures.ThreadPoolExecutor(1), RowCounter(url)  # polls while it sends
    try:
        rows = watcher.submit(wait_rows, live_count, before + n, group)
        sent = sim.publish(broker, protocol, n)
        first_at, first_rows, done_at = rows.result()
    finally:
        watcher.shutdown()
        live_count.close()
        stopped(group, broker, protocol)
    return Rate(before + n - first_rows, done_at - first_at), sent


# --- the run ------------------------------------------------------------------------------------------


def machine() -> str:
    load = os.getloadavg()
    cpu = os.cpu_count()
    return (f"{platform.node()}: {cpu} CPUs, Python {platform.python_version()}, "
            f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=80_000)
    parser.add_argument("--valves", type=int, default=1000)
    parser.add_argument("--protocol", choices=["5", "3.1.1"], default="5")
    parser.add_argument("--dsn", default=os.environ.get("CT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--ingestors", type=int, default=1,
                        help="ingest processes sharing the subscription (more than one: MQTT 5 only)")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    if args.ingestors > 1 and args.protocol != "5":
        parser.error("several ingestors share a subscription with MQTT 5 only")
    n, protocol = args.messages, args.protocol
    valves = valve_ids(args.valves, PREFIX)
    header = machine()
    print(header, flush=True)

    name = f"ct_bench_ingest_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(args.dsn, name))
    url = args.dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    broker = RestartableMosquitto()
    broker.start()
    rows: list[tuple[str, str, Rate]] = []
    logs = tempfile.TemporaryDirectory(prefix="ct-bench-ingest-")
    log_dir = Path(logs.name)
    count: RowCounter | None = None
    try:
        asyncio.run(prepare_database(url, {v: derive_secret(SEED, v) for v in valves}))
        count = RowCounter(url)
        sim = Simulator(len(valves), log_dir / "valves")  # each run continues the valves' seq
        ingest_label = "cylinder-trace ingest → PostgreSQL" + (f" (×{args.ingestors})" if args.ingestors > 1 else "")
        print(f"{n} signed heartbeats of {len(valves)} valves per measurement, MQTT {protocol}", flush=True)

        bare_l, sent_b = bare_live(broker, protocol, sim, n)
        rows.append(("bare paho subscriber", "live", bare_l))
        print(f"bare live        {bare_l.per_s:8.0f} msg/s (simulator {sent_b.per_s:.0f} msg/s)", flush=True)
        durable_l, sent_i = ingest_live(broker, url, count, protocol, sim, n, "bench-ingest-live", log_dir,
                                       args.ingestors)
        rows.append((ingest_label, "live", durable_l))
        print(f"ingest live      {durable_l.per_s:8.0f} msg/s (simulator {sent_i.per_s:.0f} msg/s)", flush=True)

        bare = bare_backlog(broker, protocol, sim, n)
        rows.append(("bare paho subscriber", "backlog", bare))
        print(f"bare backlog     {bare.per_s:8.0f} msg/s", flush=True)
        durable = ingest_backlog(broker, url, count, protocol, sim, n, "bench-ingest-backlog", log_dir,
                                 args.ingestors)
        rows.append((ingest_label, "backlog", durable))
        print(f"ingest backlog   {durable.per_s:8.0f} msg/s", flush=True)

        final = counts_now(url)
        assert final is not None and final.rows == 2 * n and final.dead_letters == 0, final
    finally:
        if count is not None:
            count.close()
        broker.destroy()
        logs.cleanup()
        asyncio.run(drop_database(args.dsn, name))

    ratio_live = rows[1][2].per_s / rows[0][2].per_s
    ratio_backlog = rows[3][2].per_s / rows[2][2].per_s
    print(f"ratio ingest/bare: live {ratio_live:.2f}, backlog {ratio_backlog:.2f}")
    if args.markdown:
        write_markdown(args.markdown, header, n, len(valves), protocol, rows, ratio_live, ratio_backlog,
                       (sent_b, sent_i))


def write_markdown(path: Path, header: str, n: int, valves: int, protocol: str, rows: list[tuple[str, str, Rate]],
                   ratio_live: float, ratio_backlog: float, simulator: tuple[Rate, Rate]) -> None:
    lines = [
        f"## Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, MQTT {protocol}",
        "",
        f"On {header}.",
        f"{n} signed heartbeats of {valves} valves per measurement from `firmware_sim load` (4 connections), "
        f"QoS 1, MQTT {protocol}, private Mosquitto 2.0 from `deploy/mosquitto.conf`, PostgreSQL 15 on the same "
        "machine.",
        "",
        "| consumer | mode | messages | seconds | msg/s |",
        "|---|---|---:|---:|---:|",
        *[f"| {who} | {mode} | {r.messages} | {r.seconds:.2f} | {r.per_s:.0f} |" for who, mode, r in rows],
        "",
        f"Durable ingest / bare pass-through: **{ratio_live:.2f}** (live), **{ratio_backlog:.2f}** (backlog). "
        f"The simulator published at {simulator[0].per_s:.0f} msg/s beside the bare subscriber and at "
        f"{simulator[1].per_s:.0f} msg/s beside the ingestor (live).",
        "",
    ]
    existing = path.read_text() if path.exists() else ""
    marker = "<!-- runs: bench/bench_ingest.py --markdown appends below -->"
    if marker not in existing:
        existing += ("\n" if existing else "") + marker + "\n"
    path.write_text(existing.rstrip("\n") + "\n\n" + "\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("TMPDIR", tempfile.gettempdir())
    main()
