"""``cylinder-trace import`` as an operator runs it: a census file in, a summary and an error report out,
the exit status telling whether every row went in, and a second run that adds nothing."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path

import httpx

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import build_services
from cylinder_trace.settings import Settings
from tests.support.census import make_census

from .test_import import census_town

CLI = [sys.executable, "-m", "cylinder_trace.cli"]


async def _town(url: str) -> None:
    services = build_services(Settings(database_url=url, admin_token="t", embedded_broker=False))
    try:
        app = create_app(services.settings, services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                     headers={"Authorization": "Bearer t"}) as c:
            await census_town(c)
    finally:
        await services.close()


def run(args: list[str], url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CT_DATABASE_URL": url, "CT_EMBEDDED_BROKER": "false", "COLUMNS": "120"}
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_import_command(db_url: str, tmp_path: Path) -> None:
    asyncio.run(_town(db_url))
    census = make_census(150, bad_share=0.05, seed=3)
    path = census.write_csv(tmp_path / "普查.csv")
    first = run(["import", str(path), "--company", "C1", "--batch-size", "40"], db_url, tmp_path)
    assert first.returncode == 1, first.stderr
    bad = len(census.expected_errors)
    assert f"150 rows: {census.good} imported, 0 already present, {bad} with errors" in first.stdout
    assert "rows/s" in first.stdout
    report = tmp_path / "普查.csv.errors.csv"
    with report.open(encoding="utf-8-sig") as fh:
        assert {(int(r["row"]), r["field"]) for r in csv.DictReader(fh)} == census.expected_errors
    second = run(["import", str(path), "--company", "C1", "--errors", str(tmp_path / "again.csv")], db_url, tmp_path)
    assert second.returncode == 1
    assert f"150 rows: 0 imported, {census.good} already present, {bad} with errors" in second.stdout
    clean = make_census(20, bad_share=0, seed=9)
    for i, row in enumerate(clean.rows):  # serials of their own, so they are new cylinders
        row.pop("code", None)
        row["serial"] = f"CLEAN{i}"
        row.pop("owner_customer_id", None)
        row.pop("at_customer_id", None)
    ok = run(["import", str(clean.write_csv(tmp_path / "clean.csv")), "--company", "C1",
              "--registered-at", "2026-11-01"], db_url, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "20 rows: 20 imported" in ok.stdout
    broken = tmp_path / "broken.csv"
    broken.write_text("serial,model\nX1,YSP35.5\n", encoding="utf-8")
    failed = run(["import", str(broken), "--company", "C1"], db_url, tmp_path)
    assert failed.returncode == 2 and "required column(s) missing: manufacturer_code, manufactured_on" in failed.stderr
