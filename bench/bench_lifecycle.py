"""Lifecycle valve events at broker speed: ``cylinder-trace ingest`` next to a bare subscriber, same broker,
same run.

100 valves, each fitted to a registered cylinder, send 20,000 signed ``opened`` / ``closed`` /
``fill_started`` / ``fill_completed`` messages in a burst (per valve a cycle of 3 opened/closed pairs and
one fill: the first 10 of its 25 fills under a valid authorization issued just before, the rest naming
one never issued, which the rules find an illegal refill). Every message is lifecycle-relevant: the
ingestor stores it, appends a ``ValveReported`` event to the cylinder's hash-chained history, judges the
authorizations, and brings the cylinders and findings projections up to date.

Both consumers subscribe at QoS 1 on a private Mosquitto started from ``deploy/mosquitto.conf``; the
publisher is a separate process (4 connections, each valve on one of them, in ``seq`` order). The bare
subscriber only counts (paho acknowledges each message as it arrives); the ingestor's rate is counted in
the database (``valve_messages`` rows). Two measurements each, as ``bench/bench_ingest.py`` does:

* **live**: the consumer is connected while the burst is published; the rate runs from the first
  message it has (stored, for the ingestor) to the last;
* **backlog**: the burst waits at the broker for the consumer's persistent session, then it connects
  and drains it.

The run checks that every message was stored and appended to its cylinder's history in ``seq`` order,
counts the ingestor's lost connections (its log, and the broker's log: "exceeded timeout"), and prints
the ratio to the bare subscriber (target: 0.7 or more, no disconnect). ``--markdown`` adds the run to a
section "Lifecycle valve events" of the file; ``--profile DIR`` records the ingest process with py-spy
during the backlog phase, as collapsed stacks (``make bench-deps`` installs py-spy; summarize them with
``bench/profile_summary.py``).

    .venv/bin/python bench/bench_lifecycle.py [--protocol both|5|3.1.1] [--messages 20000] [--valves 100]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--markdown bench/RESULTS.md] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.bench_ingest import (  # noqa: E402
    Rate,
    RowCounter,
    bare_process,
    bare_result,
    drop_session,
    machine,
    started,
    stopped,
    wait_rows,
)
from cylinder_trace.api.main import create_app  # noqa: E402
from cylinder_trace.app.fill_authorizations import issue_fill_authorization  # noqa: E402
from cylinder_trace.app.principals import admin_principal  # noqa: E402
from cylinder_trace.app.services import Services, build_services  # noqa: E402
from cylinder_trace.app.tx import Tx  # noqa: E402
from cylinder_trace.settings import Settings  # noqa: E402
from firmware_sim.registry import derive_secret, valve_ids  # noqa: E402
from tests.integration.ingest.infra import (  # noqa: E402
    IngestProcess,
    RestartableMosquitto,
    create_database,
    drop_database,
    prepare_database,
)

SEED = "bench-lifecycle-seed"
PREFIX = "L"
TOKEN = "bench-lifecycle-token"
#: per valve and cycle: three opened/closed pairs and one fill (fill_started, fill_completed)
CYCLE = ("opened", "closed", "opened", "closed", "opened", "closed", "fill_started", "fill_completed")
#: of each valve's fills, this many are under a valid authorization
VALID_FILLS = 10

#: the publisher: builds the signed messages from a plan, publishes them over several connections as fast
#: as the broker takes them (QoS 1), and prints what the broker acknowledged and how long it took
PUBLISHER = textwrap.dedent("""
    import json, sys, threading, time, uuid
    from datetime import datetime, timezone
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from cylinder_trace.mqtt.protocol import EventType, build_event, encode, events_topic
    from firmware_sim.registry import derive_secret
    plan = json.load(open(sys.argv[1]))
    host, port, protocol, clients = plan["host"], plan["port"], plan["protocol"], plan["clients"]
    now = datetime.now(timezone.utc)
    lanes = [[] for _ in range(clients)]
    for i, valve in enumerate(plan["valves"]):
        secret, auths = derive_secret(plan["seed"], valve), plan["auths"].get(valve, [])
        fill, auth_id = 0, None
        for k in range(plan["per_valve"]):
            kind = plan["cycle"][k % len(plan["cycle"])]
            data = {}
            if kind == "fill_started":
                auth_id = auths[fill] if fill < len(auths) else "never-issued-" + uuid.uuid4().hex[:12]
                fill += 1
                data = {"auth_id": auth_id}
            elif kind == "fill_completed":
                data = {"auth_id": auth_id, "mass_kg": 14.5}
            body = build_event(secret, valve, plan["first_seq"] + k, now, EventType(kind), data)
            lanes[i % clients].append((events_topic(valve), encode(body)))
    total = sum(len(lane) for lane in lanes)
    acked, done, lock = [0], threading.Event(), threading.Lock()
    def on_publish(c, u, mid, rc, p):
        with lock:
            acked[0] += 1
            if acked[0] >= total:
                done.set()
    conns = []
    for n in range(clients):
        v5 = protocol == "5"
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-lc-pub-{uuid.uuid4().hex[:6]}-{n}",
                        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.on_publish = on_publish
        c.connect(host, port)
        c.loop_start()
        conns.append(c)
    start = time.perf_counter()
    def send(c, lane):
        for topic, payload in lane:
            c.publish(topic, payload, qos=1)
    threads = [threading.Thread(target=send, args=(c, lane)) for c, lane in zip(conns, lanes)]
    for t in threads: t.start()
    for t in threads: t.join()
    done.wait(600)
    seconds = time.perf_counter() - start
    for c in conns:
        c.disconnect(); c.loop_stop()
    print(json.dumps({"acked": acked[0], "total": total, "seconds": seconds}), flush=True)
""")


@dataclass
class Fleet:
    """The bench's valves, each fitted to a cylinder, and how far each one's ``seq`` has got."""

    valves: list[str]
    codes: dict[str, str]
    next_seq: int = 1

    def plan(self, broker: RestartableMosquitto, protocol: str, per_valve: int,
             auths: dict[str, list[str]]) -> dict[str, object]:
        plan = {"host": broker.host, "port": broker.port, "protocol": protocol, "clients": 4, "seed": SEED,
                "valves": self.valves, "per_valve": per_valve, "first_seq": self.next_seq, "cycle": CYCLE,
                "auths": auths}
        self.next_seq += per_valve
        return plan


def publish(plan: dict[str, object], work: Path) -> Rate:
    path = work / f"plan-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(plan))
    run = subprocess.run([sys.executable, "-c", PUBLISHER, str(path)], cwd=REPO, capture_output=True, text=True,
                         timeout=900, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"the publisher failed ({run.returncode}):\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if result["acked"] != result["total"]:
        raise RuntimeError(f"the broker acknowledged {result['acked']} of {result['total']}")
    return Rate(result["acked"], result["seconds"])


# --- the store ------------------------------------------------------------------------------------------


async def fit_valves(url: str, valves: Sequence[str]) -> dict[str, str]:
    """A station and one registered cylinder per valve with the valve fitted (the API, in process)."""
    settings = Settings(database_url=url, admin_token=TOKEN, embedded_broker=False, sweep_interval_s=0)
    services = build_services(settings)
    codes: dict[str, str] = {}
    try:
        app = create_app(settings, services, runtime=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as api:
            async def ok(response: httpx.Response) -> dict[str, object]:
                if response.status_code not in (200, 201):
                    raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
                body: dict[str, object] = response.json()
                return body

            await ok(await api.post("/api/v1/stations", json={
                "id": "S1", "company_id": "C1", "name": "充装站", "licence_no": "T1",
                "licence_valid_until": "2030-12-31"}))
            for valve in valves:
                code = str((await ok(await api.post("/api/v1/cylinders", json={
                    "event_id": str(uuid.uuid4()), "model": "YSP35.5", "manufacturer_code": "M01",
                    "manufactured_on": "2025-05-01", "owner": {"company_id": "C1"}})))["code"])
                await ok(await api.post(f"/api/v1/cylinders/{code}/valve", json={
                    "event_id": str(uuid.uuid4()), "valve_id": valve, "occurred_at": datetime.now(UTC).isoformat()}))
                codes[valve] = code
    finally:
        await services.close()
    return codes


async def issue_authorizations(url: str, fleet: Fleet, per_valve: int) -> dict[str, list[str]]:
    """``per_valve`` fill authorizations at S1 for each valve's cylinder, as passing fill checks issue them."""
    services: Services = build_services(Settings(database_url=url, embedded_broker=False, sweep_interval_s=0))
    actor = admin_principal().actor

    async def issue(tx: Tx) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for valve, code in fleet.codes.items():
            state = await tx.load_cylinder(code)
            assert state is not None
            for _ in range(per_valve):
                issued = await issue_fill_authorization(tx, state, "S1", actor=actor)
                assert issued is not None
                out.setdefault(valve, []).append(issued.auth_id)
        return out

    try:
        return await services.uow.write(issue)
    finally:
        await services.close()


@dataclass(frozen=True, slots=True)
class Check:
    histories_in_order: bool
    appended: int
    authorized: int
    illegal: int
    dead_letters: int


async def check_store(url: str) -> Check:
    """Every stored message in its cylinder's history, in ``seq`` order per valve; what the rules found."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        disorder = await conn.fetchval(
            "SELECT count(*) FROM (SELECT (data->>'seq')::bigint AS seq, lag((data->>'seq')::bigint) OVER "
            "(PARTITION BY stream_id ORDER BY version) AS prev FROM events WHERE type = 'ValveReported') AS s "
            "WHERE seq <= prev")
        appended = await conn.fetchval("SELECT count(*) FROM events WHERE type = 'ValveReported'")
        authorized = await conn.fetchval("SELECT count(*) FROM events WHERE type = 'ValveReported' "
                                         "AND data->>'authorization' = 'authorized'")
        illegal = await conn.fetchval("SELECT coalesce(sum(evidence_count), 0) FROM findings "
                                      "WHERE rule = 'VALVE_ILLEGAL_REFILL'")
        dead = await conn.fetchval("SELECT count(*) FROM dead_letters")
    finally:
        await conn.close()
    return Check(disorder == 0, int(appended), int(authorized), int(illegal), int(dead))


# --- the phases -----------------------------------------------------------------------------------------


@dataclass
class Result:
    protocol: str
    rows: list[tuple[str, str, Rate]] = field(default_factory=list)
    published: list[Rate] = field(default_factory=list)
    disconnects: int = 0
    check: Check | None = None

    def rate(self, who: str, mode: str) -> float:
        return next(r.per_s for w, m, r in self.rows if w == who and m == mode)

    def ratio(self, mode: str) -> float:
        return self.rate("ingest", mode) / self.rate("bare", mode)


def lost_connections(group: Sequence[IngestProcess], broker: RestartableMosquitto) -> int:
    """Connections the ingestors lost: their own warnings, or the broker's word (whichever says more)."""
    own = sum(p.log().count("disconnected from the broker") for p in group)
    said = sum(line.count("exceeded timeout") + line.count("already connected")
               for line in broker.log().splitlines() if any(p.client_id in line for p in group))
    return max(own, said)


def bare_phase(broker: RestartableMosquitto, fleet: Fleet, protocol: str, per_valve: int, work: Path,
               backlog: bool) -> tuple[Rate, Rate]:
    client_id = f"bench-lc-bare-{uuid.uuid4().hex[:6]}"
    n = per_valve * len(fleet.valves)
    try:
        if backlog:
            bare_process(broker, client_id, protocol, 0).wait(30)  # the session exists; the consumer is away
            sent = publish(fleet.plan(broker, protocol, per_valve, {}), work)
            return bare_result(bare_process(broker, client_id, protocol, n)), sent
        process = bare_process(broker, client_id, protocol, n)
        sent = publish(fleet.plan(broker, protocol, per_valve, {}), work)
        return bare_result(process), sent
    finally:
        drop_session(broker, client_id, protocol)


def ingest_phase(broker: RestartableMosquitto, url: str, count: RowCounter, fleet: Fleet, protocol: str,
                 per_valve: int, work: Path, backlog: bool, result: Result,
                 profile: Path | None = None) -> tuple[Rate, Rate]:
    n = per_valve * len(fleet.valves)
    auths = asyncio.run(issue_authorizations(url, fleet, VALID_FILLS))
    mode = "backlog" if backlog else "live"
    group = started(url, broker, f"bench-lc-{mode}-{protocol.replace('.', '')}", protocol, work, 1)
    spy: subprocess.Popen[bytes] | None = None
    try:
        before = count()
        if backlog:
            assert group[0].terminate() == 0  # graceful: the session stays at the broker
            sent = publish(fleet.plan(broker, protocol, per_valve, auths), work)
            group[0].start()
            if profile is not None:  # from the connection on: what the process does with the messages
                group[0].wait_connected()
                spy = start_profile(group[0], profile / f"ingest-{protocol}.txt")
            first_at, first_rows, done_at = wait_rows(count, before + n, group)
        else:
            watcher, live_count = concurrent.futures.ThreadPoolExecutor(1), RowCounter(url)
            try:
                rows = watcher.submit(wait_rows, live_count, before + n, group)
                sent = publish(fleet.plan(broker, protocol, per_valve, auths), work)
                first_at, first_rows, done_at = rows.result()
            finally:
                watcher.shutdown()
                live_count.close()
        result.disconnects += lost_connections(group, broker)
    finally:
        if spy is not None:
            spy.wait(120)
        stopped(group, broker, protocol)
    return Rate(before + n - first_rows, done_at - first_at), sent


def start_profile(process: IngestProcess, out: Path) -> subprocess.Popen[bytes]:
    spy_bin = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    assert process.process is not None
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([spy_bin, "record", "--pid", str(process.process.pid), "--duration", "6", "--rate", "200",
                             "--format", "raw", "--output", str(out),
                             "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_protocol(dsn: str, protocol: str, valves: int, messages: int, work: Path, profile: Path | None) -> Result:
    name = f"ct_bench_lifecycle_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(dsn, name))
    url = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    broker = RestartableMosquitto()
    broker.start()
    count: RowCounter | None = None
    result = Result(protocol)
    per_valve = messages // valves
    try:
        ids = valve_ids(valves, PREFIX)
        asyncio.run(prepare_database(url, {v: derive_secret(SEED, v) for v in ids}))
        fleet = Fleet(ids, asyncio.run(fit_valves(url, ids)))
        count = RowCounter(url)
        n = per_valve * valves
        print(f"MQTT {protocol}: {n} lifecycle messages of {valves} fitted valves per measurement", flush=True)
        for backlog in (False, True):
            mode = "backlog" if backlog else "live"
            bare, sent_b = bare_phase(broker, fleet, protocol, per_valve, work, backlog)
            result.rows.append(("bare", mode, bare))
            print(f"  bare {mode:8} {bare.per_s:8.0f} msg/s (publisher {sent_b.per_s:.0f} msg/s)", flush=True)
            stored, sent_i = ingest_phase(broker, url, count, fleet, protocol, per_valve, work, backlog, result,
                                          profile if backlog else None)
            result.rows.append(("ingest", mode, stored))
            result.published += [sent_b, sent_i]
            print(f"  ingest {mode:6} {stored.per_s:8.0f} stored/s (publisher {sent_i.per_s:.0f} msg/s), "
                  f"ratio {stored.per_s / bare.per_s:.2f}", flush=True)
        result.check = asyncio.run(check_store(url))
        if result.check.appended != 2 * n or not result.check.histories_in_order or result.check.dead_letters:
            raise RuntimeError(f"the store is not what was sent: {result.check}")
        print(f"  disconnects of the ingestor: {result.disconnects}; {result.check}", flush=True)
    finally:
        if count is not None:
            count.close()
        broker.destroy()
        asyncio.run(drop_database(dsn, name))
    return result


# --- the report -----------------------------------------------------------------------------------------

SECTION = "## Lifecycle valve events"


def markdown(results: Sequence[Result], header: str, messages: int, valves: int) -> str:
    lines = [
        f"### Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} (`bench/bench_lifecycle.py`)",
        "",
        f"On {header}. {messages} lifecycle messages of {valves} fitted valves per measurement, QoS 1, private "
        "Mosquitto 2.0 from `deploy/mosquitto.conf`, PostgreSQL 15 on the same machine, one "
        "`cylinder-trace ingest`.",
        "",
        "| MQTT | mode | bare subscriber msg/s | ingest stored/s | ratio (target ≥ 0.7) | ingestor disconnects |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for mode in ("live", "backlog"):
            lines.append(f"| {r.protocol} | {mode} | {r.rate('bare', mode):.0f} | {r.rate('ingest', mode):.0f} | "
                         f"{r.ratio(mode):.2f} | {r.disconnects if mode == 'live' else ''} |")
    checks = "; ".join(f"MQTT {r.protocol}: {r.check.appended} appended, {r.check.authorized} authorized fills, "
                       f"{r.check.illegal} illegal-refill evidence, histories in seq order: "
                       f"{'yes' if r.check.histories_in_order else 'NO'}" for r in results if r.check)
    lines += ["", f"Disconnects are counted over both ingest phases. {checks}.", ""]
    return "\n".join(lines)


def write_markdown(path: Path, block: str) -> None:
    """Add ``block`` at the end of the section (made at the end of the file when missing)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\nRuns of `bench/bench_lifecycle.py`, newest last.\n"
    start = text.index(SECTION) + len(SECTION)
    following = text.find("\n## ", start)
    end = len(text) if following < 0 else following + 1
    text = text[:end].rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n" + ("\n" + text[end:] if following >= 0 else "")
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", choices=["both", "5", "3.1.1"], default="both")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--valves", type=int, default=100)
    parser.add_argument("--dsn", default=os.environ.get("CT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--profile", type=Path, help="record the ingest process with py-spy into this folder")
    args = parser.parse_args()
    if args.messages // args.valves < len(CYCLE) * 3:
        parser.error("give each valve at least 24 messages")
    header = machine()
    print(header, flush=True)
    protocols = ["5", "3.1.1"] if args.protocol == "both" else [args.protocol]
    with tempfile.TemporaryDirectory(prefix="ct-bench-lifecycle-") as tmp:
        results = [run_protocol(args.dsn, p, args.valves, args.messages, Path(tmp), args.profile) for p in protocols]
    for r in results:
        print(f"MQTT {r.protocol}: ratio live {r.ratio('live'):.2f}, backlog {r.ratio('backlog'):.2f}, "
              f"disconnects {r.disconnects}")
    if args.markdown:
        write_markdown(args.markdown, markdown(results, header, args.valves * (args.messages // args.valves),
                                               args.valves))


if __name__ == "__main__":
    main()
