"""Real headless Chromium for the browser tests (Debian's ``chromium``, which ``make test`` installs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from cylinder_trace.store.migrate import upgrade
from tests.support.server import running_api

CHROMIUM: Final = Path("/usr/bin/chromium")
ARGS: Final = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]


@contextmanager
def served(tmp_path_factory: pytest.TempPathFactory, name: str, admin_token: str) -> Iterator[str]:
    """The real server on a fresh SQLite database (migrated), its base URL."""
    workdir = tmp_path_factory.mktemp(name)
    url = f"sqlite+aiosqlite:///{workdir / 'e2e.sqlite3'}"
    upgrade(url)
    with running_api(url, admin_token, workdir) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def collect_errors(page: Page, expected_status: tuple[str, ...] = ()) -> list[str]:
    """Script errors and console errors of ``page``, as they happen. A page the server answers with a
    status in ``expected_status`` (a path part, e.g. ``/8003/``) logs a failed load: that one is expected."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(msg: ConsoleMessage) -> None:
        url = msg.location.get("url", "")
        expected = "the server responded with a status of 4" in msg.text and any(p in url for p in expected_status)
        if msg.type == "error" and not expected:
            errors.append(f"{msg.text} ({url})")

    page.on("console", console)
    return errors
