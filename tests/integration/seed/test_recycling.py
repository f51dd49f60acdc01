"""The recycling subsidy (10 CNY, seed 三(二)3) only for a cylinder beyond its design life, unqualified or
of an obsolete model (policy ``obsolete_models``, YSP118-II unless converted), or taken back in a swap's
recycle branch; the scrap records the category and names the inspection agency that destroys it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support import factories as f
from tests.support import policies

from .helpers import REAL_NAME, refused_field

NOW = "2026-11-28T10:00:00+08:00"


async def users_cylinder(c: httpx.AsyncClient, made: str, model: str = "YSP35.5") -> str:
    body = {"event_id": f.eid(), "model": model, "manufacturer_code": "M09", "manufactured_on": made,
            "owner": {"customer_id": "U1"}, "occurred_at": "2024-06-01T10:00:00+08:00"}
    return str((await f.ok(await c.post("/api/v1/cylinders", json=body), 201))["code"])


async def failed_cylinder(c: httpx.AsyncClient, company_id: str) -> str:
    code = str((await f.cylinder(c, company_id=company_id, manufactured_on="2023-01-01"))["code"])
    await f.ok(await c.post("/api/v1/inspections", json={"event_id": f.eid(), "code": code, "agency_id": "A1",
                                                         "occurred_at": NOW, "result": "fail"}), 201)
    return code


async def scrap(c: httpx.AsyncClient, code: str, **extra: Any) -> httpx.Response:
    body = {"event_id": f.eid(), "reason": "回收报废", "occurred_at": NOW, "company_id": "C1",
            "handed_in_by": REAL_NAME, "agency_id": "A1", **extra}
    return await c.post(f"/api/v1/cylinders/{code}/scrap", json=body)


def reasons(answer: dict[str, Any]) -> list[str]:
    return [r["code"] for r in answer["subsidy"].get("reasons", [])]


async def test_only_the_seeds_categories_earn_and_the_scrap_records_which(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    await f.company(pg_client, "C2")
    sound = await f.ok(await scrap(pg_client, await users_cylinder(pg_client, "2024-01-01")), 201)
    assert (sound["recycling_category"], sound["subsidy"]["earned"], reasons(sound)) == (
        None, False, ["sound_cylinder"])
    expired = await f.ok(await scrap(pg_client, await users_cylinder(pg_client, "2016-01-01")), 201)
    assert (expired["recycling_category"], expired["subsidy"]["earned"], expired["subsidy"]["amount_cny"]) == (
        "life_expired", True, 10)
    dual = await f.ok(await scrap(pg_client, await users_cylinder(pg_client, "2022-01-01", "YSP118-II")), 201)
    assert (dual["recycling_category"], dual["subsidy"]["earned"]) == ("obsolete", True)
    others = await f.ok(await scrap(pg_client, await failed_cylinder(pg_client, "C2")), 201)
    assert (others["recycling_category"], others["subsidy"]["earned"]) == ("unqualified", True)
    own = await f.ok(await scrap(pg_client, await failed_cylinder(pg_client, "C1")), 201)
    assert (own["recycling_category"], reasons(own)) == ("unqualified", ["own_fleet"])
    anonymous = await f.ok(await scrap(pg_client, await users_cylinder(pg_client, "2015-01-01"),
                                       handed_in_by=None), 201)
    assert (anonymous["recycling_category"], reasons(anonymous)) == ("life_expired", ["no_real_name"])
    history = await f.ok(await pg_client.get(f"/api/v1/cylinders/{expired['code']}/history"))
    data = history["events"][-1]["data"]
    assert (data["recycling_category"], data["agency_id"], data["subsidy"]["basis"]) == (
        "life_expired", "A1", "life_expired")
    ledger = await f.ok(await pg_client.get("/api/v1/ledgers/subsidies", params={"company_id": "C1"}))
    assert [(r["kind"], r["count"], r["amount_cny"], r["by_basis"]) for r in ledger["rows"]] == [
        ("recycling", 3, 30, {"life_expired": 1, "obsolete": 1, "unqualified": 1})]


async def test_a_swaps_recycle_branch_earns_by_itself(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    old = await users_cylinder(pg_client, "2018-06-01")  # 8 years old: recycle branch, within its design life
    new = str((await f.cylinder(pg_client))["code"])
    assert (await f.fill(pg_client, new)).status_code == 201
    swap = await f.ok(await pg_client.post("/api/v1/swaps", json={
        "event_id": f.eid(), "old_code": old, "new_code": new, "customer_id": "U1", "occurred_at": NOW,
        "residual_kg": 0}), 201)
    assert (swap["branch"], swap["subsidy_cny"]) == ("recycle", 10)
    ledger = await f.ok(await pg_client.get("/api/v1/ledgers/subsidies", params={"company_id": "C1"}))
    assert [(r["kind"], r["amount_cny"], r["by_basis"]) for r in ledger["rows"]] == [
        ("recycling", 10, {"swap_recycle": 1})]


async def test_an_unknown_agency_is_refused_naming_the_field(pg_client: httpx.AsyncClient) -> None:
    await f.town(pg_client)
    code = await users_cylinder(pg_client, "2016-01-01")
    assert refused_field(await scrap(pg_client, code, agency_id="NOPE")) == "agency_id"
    assert (await f.ok(await pg_client.get(f"/api/v1/cylinders/{code}")))["status"] == "at_customer"


def test_a_policy_naming_an_unknown_obsolete_model_refuses_to_start(tmp_path: Path) -> None:
    bad = policies.write(tmp_path, policies.edited(obsolete_models=["YSP118-II", "YSP999"]))
    env = {**os.environ, "CT_POLICY_FILE": str(bad), "CT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
           "CT_EMBEDDED_BROKER": "false"}
    for command in (["serve", "--port", "1"], ["ingest"]):
        run = subprocess.run([sys.executable, "-m", "cylinder_trace.cli", *command], env=env, capture_output=True,
                             text=True, timeout=120, cwd=tmp_path)
        assert run.returncode == 2, run.stderr
        assert "policy[0].obsolete_models" in run.stderr and "YSP999" in run.stderr and str(bad) in run.stderr
    assert not (tmp_path / "x.db").exists()  # refused before touching the database
