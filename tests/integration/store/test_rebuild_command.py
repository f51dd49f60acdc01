"""``cylinder-trace rebuild`` repairs read models from the events, on SQLite and PostgreSQL: every
projection by default, only the ones named with ``--projection``, and a clear refusal of a name it does
not know."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.store.tables import cylinders, findings
from tests.conftest import ADMIN_TOKEN
from tests.support import factories as f


async def rebuild(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CT_DATABASE_URL": db_url, "CT_ADMIN_TOKEN": ADMIN_TOKEN}
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "cylinder_trace.cli", "rebuild", "--quiet",
                                                    *args], env=env, capture_output=True, text=True, timeout=120)


async def damage(services: Services, code: str) -> None:
    """What a faulty projection could leave: a wrong status, a lost finding."""
    async with services.engine.begin() as conn:
        await conn.execute(sa.update(cylinders).where(cylinders.c.code == code).values(status="seized"))
        await conn.execute(sa.delete(findings))


async def status_and_findings(services: Services, code: str) -> tuple[str, int]:
    async with services.engine.connect() as conn:
        status = (await conn.execute(sa.select(cylinders.c.status).where(cylinders.c.code == code))).scalar_one()
        count = (await conn.execute(sa.select(sa.func.count()).select_from(findings))).scalar_one()
    return str(status), int(count)


async def test_rebuild_repairs_the_projections_it_is_given(client: httpx.AsyncClient, services: Services,
                                                           db_url: str) -> None:
    await f.town(client)
    code = str((await f.cylinder(client))["code"])
    assert (await f.fill(client, code)).status_code == 201
    refused = await f.fill(client, code, checks={"pre_fill_ok": False, "post_fill_ok": True, "leak_ok": True})
    assert refused.status_code == 422  # a refusal opens a finding
    before = await status_and_findings(services, code)
    assert before[0] == "full_in_stock" and before[1] >= 1

    await damage(services, code)
    only_cylinders = await rebuild(db_url, "--projection", "cylinders")
    assert only_cylinders.returncode == 0, only_cylinders.stderr
    assert "rebuilt cylinders from" in only_cylinders.stdout
    assert await status_and_findings(services, code) == (before[0], 0)  # findings not rebuilt

    everything = await rebuild(db_url)
    assert everything.returncode == 0, everything.stderr
    assert await status_and_findings(services, code) == before

    unknown = await rebuild(db_url, "--projection", "nonsense")
    assert unknown.returncode == 2 and "unknown projection nonsense" in unknown.stderr
