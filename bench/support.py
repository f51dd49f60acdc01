"""What the benchmarks share: throw-away PostgreSQL databases, servers in subprocesses with their CPU
time, and an HTTP load driver cheap enough not to be what is measured.

The driver keeps one HTTP/1.1 keep-alive connection per client on raw asyncio streams and sends
requests built before the clock starts, so a client costs a few tens of microseconds per request; it
records every request's latency and status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[1]
PG_DSN = os.environ.get("CT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine() -> str:
    return f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def publish(bench: str, setting: str, table: str, markdown: Path | None) -> None:
    """Print a run's section (title with the time, the machine and the setting, then its table) and
    append it to the markdown file when one is named."""
    text = (f"\n### {bench} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{machine()}"
            f"{'; ' + setting if setting else ''}\n\n{table}\n")
    print(text)
    if markdown:
        with markdown.open("a", encoding="utf-8") as out:
            out.write(text)


def sqlalchemy_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


def plain_dsn(dsn: str, database: str) -> str:
    return f"{dsn.rsplit('/', 1)[0]}/{database}"


@contextlib.asynccontextmanager
async def scratch_database(prefix: str, dsn: str = PG_DSN) -> AsyncIterator[str]:
    """A new, empty database on the server of ``dsn``; yields its name and drops it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield name
    finally:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def postgres_cpu_seconds() -> float:
    """CPU time the local PostgreSQL has used so far: the postmaster's, its live children's, and that of
    the children it has reaped (a backend that ended between two readings still counts)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "postgres":
                continue
            fields = comm.with_name("stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        total += int(fields[11]) + int(fields[12])
        if fields[1] == "1":  # the postmaster (its parent is init): its reaped children
            total += int(fields[13]) + int(fields[14])
    return total / _CLOCK_TICKS


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)


@contextlib.contextmanager
def uvicorn_server(factory: str, env: dict[str, str], workdir: Path, *, workers: int = 1) -> Iterator[Server]:
    """``uvicorn --factory FACTORY`` (one worker, uvloop, httptools) on a free port until the block ends."""
    port = free_port()
    log = workdir / f"server-{port}.log"
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
        env={**os.environ, "PYTHONPATH": f"{REPO}/src:{REPO}", **env}, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    server = Server(proc, port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{factory} exited early:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{server.base}/healthz", timeout=1).status_code in (200, 404):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{factory} did not come up:\n{log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


def post(path: str, body: bytes, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"POST {path} HTTP/1.1\r\nHost: bench\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def get(path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


@dataclass
class LoadReport:
    requests: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.2f} s: {self.rate:,.0f}/s, "
                f"p50 {self.percentile(50) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms, "
                f"statuses {dict(sorted(self.statuses.items()))}")

    @property
    def mean_latency(self) -> float:
        return statistics.fmean(self.latencies)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def drive(port: int, requests: Sequence[bytes], clients: int, *, keep_bodies: bool = False,
                rate: float = 0.0) -> LoadReport:
    """Send ``requests`` over ``clients`` keep-alive connections, each taking the next request as soon
    as its previous one is answered (closed loop: as fast as the server answers). With ``rate`` (per
    second) the requests are released on a schedule instead, and a request's latency counts from its
    scheduled time (open loop: what a client waiting on the service sees at that load)."""
    queue = iter(range(len(requests)))
    report = LoadReport(len(requests), 0.0)
    bodies: dict[int, bytes] = {}
    begin = time.perf_counter()

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in queue:
                started = time.perf_counter()
                if rate:
                    due = begin + i / rate
                    if due > started:
                        await asyncio.sleep(due - started)
                    started = due
                writer.write(requests[i])
                status, body = await _read_response(reader)
                report.latencies.append(time.perf_counter() - started)
                report.statuses[status] += 1
                if keep_bodies:
                    bodies[i] = body
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    report.seconds = time.perf_counter() - begin
    report.bodies = [bodies[i] for i in range(len(requests))] if keep_bodies else []
    return report
