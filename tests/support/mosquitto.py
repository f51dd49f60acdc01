"""A private Mosquitto for a test: our ``deploy/mosquitto.conf`` on a free port, state in a temp dir.

The configuration is derived from the shipped file, changing only what a test must change (listener,
persistence_location, log_dest, user), so what ships is what is tested. A missing ``mosquitto``
binary is an error, never a skip.

    with running_mosquitto() as broker:
        client.connect(broker.host, broker.port)

or, in a test module, ``mosquitto = mosquitto_fixture(scope="module")`` and take ``mosquitto`` as an
argument.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_CONF = REPO_ROOT / "deploy" / "mosquitto.conf"
#: override with ``CT_MOSQUITTO_BIN``; otherwise ``mosquitto`` on PATH, then Debian's location
MOSQUITTO_BIN_ENV = "CT_MOSQUITTO_BIN"

Scope = Literal["session", "package", "module", "class", "function"]


class MosquittoError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class RunningMosquitto:
    host: str
    port: int
    conf_path: Path
    data_dir: Path
    log_path: Path
    pid: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def mosquitto_binary() -> str:
    """The mosquitto executable; raises :class:`MosquittoError` (the test fails) when there is none."""
    candidates = [os.environ.get(MOSQUITTO_BIN_ENV), shutil.which("mosquitto"), "/usr/sbin/mosquitto"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise MosquittoError(
        f"no mosquitto binary (looked at ${MOSQUITTO_BIN_ENV}, PATH, /usr/sbin/mosquitto): "
        "install it, e.g. apt-get install mosquitto"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def render_config(base: str, *, host: str, port: int, data_dir: Path, log_path: Path) -> str:
    """``base`` (the text of a mosquitto.conf) with the listener, state dir, log and user replaced.

    Every overridden directive must occur in ``base`` exactly once: if the shipped file changes shape,
    this fails instead of silently testing something else.
    """
    overrides = {
        "listener": f"{port} {host}",
        "persistence_location": f"{data_dir}/",
        "log_dest": f"file {log_path}",
    }
    seen: dict[str, int] = dict.fromkeys(overrides, 0)
    lines = []
    for line in base.splitlines():
        words = line.split(maxsplit=1)
        if words and not words[0].startswith("#") and words[0] in overrides:
            seen[words[0]] += 1
            line = f"{words[0]} {overrides[words[0]]}"
        lines.append(line)
    wrong = {key: count for key, count in seen.items() if count != 1}
    if wrong:
        raise MosquittoError(f"mosquitto.conf: expected each of these directives once, found {wrong}")
    # As root, mosquitto would switch to the 'mosquitto' user, who cannot write our temp dir.
    lines.append(f"user {getpass.getuser()}")
    return "\n".join(lines) + "\n"


def _wait_listening(process: subprocess.Popen[bytes], host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def running_mosquitto(
    *, conf: Path = DEPLOY_CONF, host: str = "127.0.0.1", startup_timeout: float = 10.0, attempts: int = 3
) -> Iterator[RunningMosquitto]:
    """Start mosquitto with ``conf`` (adapted by :func:`render_config`), yield it, stop it."""
    binary = mosquitto_binary()
    base = conf.read_text()
    with tempfile.TemporaryDirectory(prefix="ct-mosquitto-") as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        data_dir.mkdir()
        log_path = work / "mosquitto.log"
        conf_path = work / "mosquitto.conf"
        for _ in range(attempts):  # the free port may be taken between choosing and binding it
            port = free_port(host)
            conf_path.write_text(render_config(base, host=host, port=port, data_dir=data_dir, log_path=log_path))
            process = subprocess.Popen(
                [binary, "-c", str(conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if _wait_listening(process, host, port, startup_timeout):
                break
            _stop(process)
        else:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            log = log_path.read_text(errors="replace") if log_path.exists() else ""
            raise MosquittoError(f"mosquitto did not start on {host}:{port}\n{stderr}\n{log}")
        try:
            yield RunningMosquitto(host, port, conf_path, data_dir, log_path, process.pid)
        finally:
            _stop(process)
            if process.stderr:
                process.stderr.close()


def mosquitto_fixture(
    *, name: str = "mosquitto", scope: Scope = "module", conf: Path = DEPLOY_CONF
) -> Callable[[], Iterator[RunningMosquitto]]:
    """A pytest fixture called ``name`` running a private mosquitto; bind it in the test module:

    ``mosquitto = mosquitto_fixture(scope="module")``
    """

    @pytest.fixture(name=name, scope=scope)
    def _mosquitto() -> Iterator[RunningMosquitto]:
        with running_mosquitto(conf=conf) as broker:
            yield broker

    return _mosquitto
