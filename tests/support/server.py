"""Run the real service in a subprocess on a free port, for tests that talk to it over the network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_process(command: list[str], env: dict[str, str], base: str, log_path: Path, cwd: Path,
                    startup_s: float = 30) -> Iterator[None]:
    """``command`` running until the block ends, once ``{base}/healthz`` answers; its output goes to
    ``log_path``."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            deadline = time.monotonic() + startup_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{command[2:4]} exited early: {log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[2:4]} did not come up within {startup_s:.0f} s")
                time.sleep(0.1)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def running_api(database_url: str, admin_token: str, workdir: Path, **env: str) -> Iterator[str]:
    """The API (uvicorn on ``create_app``) on a free port; yields its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "CT_DATABASE_URL": database_url,
        "CT_ADMIN_TOKEN": admin_token,
        "CT_EMBEDDED_BROKER": "false",
        "CT_SWEEP_INTERVAL_S": "0",
        "CT_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **env,
    }
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "--factory", "cylinder_trace.api.main:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with running_process(command, environment, base, workdir / f"api-{port}.log", workdir):
        yield base
