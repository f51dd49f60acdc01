"""Real services the ingestor's reliability tests start, stop, kill and restart.

* :class:`PrivatePostgres`: its own cluster (``initdb`` into a temporary directory, ``postgres`` on a
  free port, as the ``postgres`` OS user when the tests run as root), so it can be crashed and
  restarted without touching the shared server;
* :class:`RestartableMosquitto`: our ``deploy/mosquitto.conf`` (via ``tests.support.mosquitto``) on a
  port that stays the same across restarts, so clients reconnect to it;
* :class:`IngestProcess`: ``cylinder-trace ingest`` as a subprocess, to be SIGKILLed;
* :class:`Publisher`: a QoS 1 publisher that counts the broker's acknowledgements and resends what was
  not acknowledged after a reconnect.

A missing binary (``initdb``, ``postgres``, ``mosquitto``) is an error: the tests fail, never skip.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cylinder_trace.app.principals import admin_principal
from cylinder_trace.app.registries import KINDS, create_entry
from cylinder_trace.app.unit_of_work import Tx
from cylinder_trace.ingest.client import BufferedClient, SessionOptions, connect_kwargs
from cylinder_trace.settings import Settings
from cylinder_trace.store.migrate import upgrade
from tests.support.mosquitto import DEPLOY_CONF, free_port, mosquitto_binary, render_config

REPO = Path(__file__).resolve().parents[3]
PG_BIN = Path(os.environ.get("CT_PG_BIN", "/usr/lib/postgresql/15/bin"))


class InfraError(RuntimeError):
    pass


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise InfraError(f"timed out after {timeout:.0f} s waiting for {what}")


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


# --- PostgreSQL ------------------------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (see the module's docstring)."""

    def __init__(self) -> None:
        for tool in ("initdb", "postgres", "pg_ctl"):
            if not os.access(PG_BIN / tool, os.X_OK):
                raise InfraError(f"{PG_BIN / tool} not found: install PostgreSQL 15 or set CT_PG_BIN")
        self.root = Path(tempfile.mkdtemp(prefix="ct-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run(PG_BIN / "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self, *args: str | Path) -> list[str]:
        cmd = [str(a) for a in args]
        return ["runuser", "-u", "postgres", "--", *cmd] if self._as_postgres else cmd

    def _run(self, *args: str | Path) -> None:
        done = subprocess.run(self._command(*args), capture_output=True, check=False)
        if done.returncode != 0:
            raise InfraError(f"{args[0]} failed: {done.stderr.decode(errors='replace')}")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            self._command(PG_BIN / "postgres", "-D", self.data, "-p", str(self.port), "-k", self.root,
                          "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=60"),
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        log.close()
        wait_until(self._accepting, 60, "postgres to accept connections", interval=0.1)

    def _accepting(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise InfraError(f"postgres exited:\n{(self.root / 'postgres.log').read_text(errors='replace')}")

        async def ping() -> None:
            conn = await asyncpg.connect(self.dsn, timeout=2)
            await conn.close()

        try:
            asyncio.run(ping())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False
        return True

    def crash(self) -> None:
        """Stop at once, without a checkpoint (as a crash would); recovery runs at the next start."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "stop", "-m", "immediate")
        self._reap()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._run(PG_BIN / "pg_ctl", "-D", self.data, "stop", "-m", "fast")
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait(timeout=30)
            self.process = None

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


async def create_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def prepare_database(url: str, valves: dict[str, bytes], company_id: str = "C1") -> None:
    """Migrate to head and register a company and ``valves`` (id → secret), in one transaction."""
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, embedded_broker=False)
    from cylinder_trace.app.services import build_services

    services = build_services(settings)
    admin = admin_principal()

    async def company(tx: Tx) -> None:
        await create_entry(tx, KINDS["companies"], {"id": company_id, "name": "燃气公司", "licence_no": "L1",
                                                    "licence_valid_until": "2030-12-31"}, admin)

    async def register_valves(tx: Tx) -> None:  # the registry projection knows the company from here on
        for valve_id, secret in valves.items():
            await create_entry(tx, KINDS["valves"], {"valve_id": valve_id, "company_id": company_id,
                                                     "secret": secret.hex()}, admin)

    try:
        await services.uow.write(company)
        await services.uow.write(register_valves)
    finally:
        await services.close()


@dataclass(frozen=True, slots=True)
class Counts:
    rows: int
    dead_letters: int
    dead_by_kind: dict[str, int]
    missing: int


async def counts(dsn_or_url: str) -> Counts:
    dsn = dsn_or_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetchval("SELECT count(*) FROM valve_messages")
        by_kind = await conn.fetch("SELECT kind, count(*) AS n FROM dead_letters GROUP BY kind")
        kinds = {r["kind"]: r["n"] for r in by_kind}
        missing = await conn.fetchval(  # seqs below each valve's highest that are not stored
            "SELECT coalesce(sum(top - n), 0) FROM (SELECT max(seq) AS top, count(*) AS n FROM valve_messages "
            "GROUP BY valve_id) AS per_valve")
    finally:
        await conn.close()
    return Counts(rows, sum(kinds.values()), kinds, int(missing))


def counts_now(url: str) -> Counts | None:
    """:func:`counts`, from synchronous code; None while the database cannot be reached."""
    try:
        return asyncio.run(counts(url))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return None


# --- Mosquitto ---------------------------------------------------------------------------------------


class RestartableMosquitto:
    """Our shipped configuration, state in a temporary directory, the same port across restarts."""

    def __init__(self, conf: Path = DEPLOY_CONF) -> None:
        self.binary = mosquitto_binary()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ct-mosquitto-"))
        (self.root / "data").mkdir()
        self.conf_path = self.root / "mosquitto.conf"
        self.log_path = self.root / "mosquitto.log"
        self.conf_path.write_text(render_config(conf.read_text(), host=self.host, port=self.port,
                                                data_dir=self.root / "data", log_path=self.log_path))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, "-c", str(self.conf_path)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: self.process is not None and self.process.poll() is None
                       and _listening(self.host, self.port), 15, "mosquitto to listen")
        except InfraError:
            raise InfraError(f"mosquitto did not start:\n{self.log()}") from None

    def stop(self) -> None:
        """A graceful stop: mosquitto writes its persistence file (sessions, queued messages)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --- the ingestor as a process ----------------------------------------------------------------------


class IngestProcess:
    """``cylinder-trace ingest`` with its own client id; its output goes to a log file."""

    def __init__(self, database_url: str, mqtt_url: str, client_id: str, protocol: str = "5",
                 log_dir: Path | None = None) -> None:
        self.env = {**os.environ, "CT_DATABASE_URL": database_url, "CT_MQTT_URL": mqtt_url,
                    "CT_EMBEDDED_BROKER": "false", "CT_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        self.args = [sys.executable, "-m", "cylinder_trace.cli", "ingest", "--client-id", client_id,
                     "--protocol", protocol]
        self.client_id = client_id
        self.log_path = (log_dir or Path(tempfile.mkdtemp(prefix="ct-ingest-"))) / f"{client_id}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts + 1}\n".encode())
            self.process = subprocess.Popen(self.args, env=self.env, cwd=REPO, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
        self.starts += 1

    def wait_connected(self, timeout: float = 30) -> None:
        marker = f"as {self.client_id}"
        starts = self.starts

        def connected() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise InfraError(f"the ingestor exited:\n{self.log()}")
            text = self.log()
            return text.split(f"--- start {starts}\n")[-1].count(marker) > 0

        wait_until(connected, timeout, f"{self.client_id} to connect")

    def kill(self) -> None:
        """SIGKILL: no batch finished, no acknowledgement sent, no disconnect."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.kills += 1
        self.process = None

    def terminate(self) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# --- publishing -------------------------------------------------------------------------------------


@dataclass
class Publisher:
    """Publishes ``messages`` at QoS 1 (optionally paced), keeps going across broker restarts, and
    counts the broker's acknowledgements. Run it with :meth:`start` and :meth:`wait`."""

    host: str
    port: int
    messages: Sequence[tuple[str, bytes]]
    rate: float = 0.0
    client_id: str = "ct-test-publisher"
    protocol: str = "3.1.1"
    inflight: int = 500
    acked: int = 0
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _client: BufferedClient | None = None

    def start(self) -> None:
        options = SessionOptions(self.client_id, "5" if self.protocol == "5" else "3.1.1", persistent=True)
        client = self._client = BufferedClient(
            CallbackAPIVersion.VERSION2, client_id=self.client_id,
            protocol=mqtt.MQTTv5 if self.protocol == "5" else mqtt.MQTTv311,
            **({} if self.protocol == "5" else {"clean_session": False}),
        )
        client.max_inflight_messages_set(self.inflight)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=0.2, max_delay=2)  # type: ignore[arg-type]
        client.on_publish = self._on_publish
        client.connect(self.host, self.port, **connect_kwargs(options))
        client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _on_publish(self, _c: Any, _u: Any, _mid: int, _rc: Any, _p: Any) -> None:
        self.acked += 1
        if self.acked >= len(self.messages):
            self._done.set()

    def _run(self) -> None:
        client = self._client
        assert client is not None
        start = time.monotonic()
        for i, (topic, payload) in enumerate(self.messages):
            if self.rate > 0:
                ahead = i / self.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            client.publish(topic, payload, qos=1)

    def wait(self, timeout: float) -> None:
        if not self._done.wait(timeout):
            raise InfraError(f"the broker acknowledged {self.acked} of {len(self.messages)} messages")

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()


def wait_for_rows(url: str, expected: int, timeout: float, *, alive: Iterable[IngestProcess] = ()) -> Counts:
    """Poll the database until ``expected`` messages are stored (or the time is up)."""
    last: list[Counts | None] = [None]

    def enough() -> bool:
        for process in alive:
            if not process.alive:
                raise InfraError(f"ingestor {process.client_id} died:\n{process.log()[-3000:]}")
        last[0] = counts_now(url)
        return last[0] is not None and last[0].rows >= expected

    try:
        wait_until(enough, timeout, f"{expected} stored messages", interval=0.2)
    except InfraError as exc:
        raise InfraError(f"{exc}; last counts: {last[0]}") from None
    assert last[0] is not None
    return last[0]
