"""``cylinder-trace labels``: a company's cylinders (or a file of codes) to one A4 PDF and a folder of
PNGs that scan back to their codes; a bad code stops it before anything is written."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pymupdf

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import build_services
from cylinder_trace.labels.scan import decode_codes
from cylinder_trace.settings import Settings
from tests.support import factories as f

CLI = [sys.executable, "-m", "cylinder_trace.cli"]


async def _fleet(url: str, count: int) -> list[str]:
    services = build_services(Settings(database_url=url, admin_token="t", embedded_broker=False))
    try:
        app = create_app(services.settings, services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                     headers={"Authorization": "Bearer t"}) as c:
            await f.company(c)
            await f.company(c, "C2")
            codes = [str((await f.cylinder(c))["code"]) for _ in range(count)]
            await f.cylinder(c, company_id="C2")
            scrapped = codes.pop()
            await f.ok(await c.post(f"/api/v1/cylinders/{scrapped}/scrap", json={
                "event_id": f.eid(), "reason": "报废", "occurred_at": "2026-11-20T10:00:00+08:00"}), 201)
            return codes
    finally:
        await services.close()


def run(args: list[str], url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CT_DATABASE_URL": url, "CT_EMBEDDED_BROKER": "false", "COLUMNS": "120"}
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_labels_for_a_company_and_for_a_file_of_codes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'labels.sqlite3'}"
    run(["migrate"], url, tmp_path)
    codes = asyncio.run(_fleet(url, 23))
    pdf, pngs = tmp_path / "sheet.pdf", tmp_path / "png"
    done = run(["labels", "--company", "C1", "--pdf", str(pdf), "--png-dir", str(pngs)], url, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(codes)} labels" in done.stdout
    with pymupdf.open(pdf) as doc:
        assert doc.page_count == 2  # 22 labels, 20 a page; the scrapped one and C2's are left out
        text = "".join(page.get_text() for page in doc)
    assert sorted(c for c in codes if c in text) == sorted(codes)
    assert sorted(p.stem for p in pngs.glob("*.png")) == sorted(codes)
    read = decode_codes((pngs / f"{codes[0]}.png").read_bytes()).code
    assert read is not None and read.code == codes[0]
    listed = tmp_path / "codes.txt"
    listed.write_text(f"# to reprint\n{codes[3]}\n\n{codes[5]}\n", encoding="utf-8")
    one = run(["labels", "--codes-file", str(listed), "--pdf", str(tmp_path / "two.pdf")], url, tmp_path)
    assert one.returncode == 0, one.stderr
    with pymupdf.open(tmp_path / "two.pdf") as doc:
        assert doc.page_count == 1 and codes[3] in doc[0].get_text() and codes[5] in doc[0].get_text()
    unknown = "06901234000016CYL0001"
    refused = run(["labels", codes[0], unknown, "--pdf", str(tmp_path / "no.pdf")], url, tmp_path)
    assert refused.returncode == 1 and unknown in refused.stderr and "not registered" in refused.stderr
    assert not (tmp_path / "no.pdf").exists()
    assert run(["labels", codes[0]], url, tmp_path).returncode == 2  # nowhere to write
