"""Hole 8 and 9: roles exactly as API.md's Conventions say, tokens that expire and can be revoked."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import httpx

from tests.conftest import Clock
from tests.support import factories as f

from .towns import NOW, two_companies


async def principal(c: httpx.AsyncClient, headers: dict[str, str] | None = None, **body: str) -> httpx.Response:
    return await c.post("/api/v1/principals", json={"name": "某人", **body}, headers=headers or {})


async def test_inspectors_read_cylinders_of_every_company_and_nothing_else(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    inspector = await f.token(client, "inspector", agency_id="A1")
    code = (await f.cylinder(client, "C2"))["code"]
    assert (await client.get(f"/api/v1/cylinders/{code}", headers=inspector)).status_code == 200
    assert (await client.get(f"/api/v1/cylinders/{code}/history", headers=inspector)).status_code == 200
    for path in ("/api/v1/customers/U2", "/api/v1/staff/D2", "/api/v1/findings", "/api/v1/ledgers/subsidies",
                 "/api/v1/ledgers/swaps", "/api/v1/findings?format=csv"):
        assert (await client.get(path, headers=inspector)).status_code == 403, path
    await f.ok(await client.post("/api/v1/valves", json={"valve_id": "V2", "company_id": "C2", "secret": "ab" * 32}))
    fitted = await client.post(f"/api/v1/cylinders/{code}/valve", headers=inspector,
                               json={"event_id": f.eid(), "valve_id": "V2", "occurred_at": NOW})
    assert fitted.status_code == 403
    # inspections for its own agency only
    other_agency = await client.post("/api/v1/inspections", headers=inspector, json={
        "event_id": f.eid(), "code": code, "agency_id": "A2", "occurred_at": NOW, "result": "pass"})
    assert other_agency.status_code == 403
    own_agency = await client.post("/api/v1/inspections", headers=inspector, json={
        "event_id": f.eid(), "code": code, "agency_id": "A1", "occurred_at": NOW, "result": "pass"})
    assert own_agency.status_code == 201, own_agency.text


async def test_who_makes_tokens(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    regulator = await f.token(client, "regulator")
    company_admin = await f.token(client, "company_admin", company_id="C1")
    operator = await f.token(client, "station_operator", company_id="C1", station_id="S1")
    # a regulator makes no tokens (it could act through a company's otherwise); nor does anyone but admins
    assert (await principal(client, regulator, role="company_admin", company_id="C1")).status_code == 403
    assert (await principal(client, operator, role="delivery_worker", company_id="C1")).status_code == 403
    # a company admin: company roles of its own company, bound to its own stations and staff
    assert (await principal(client, company_admin, role="delivery_worker", company_id="C1",
                            staff_id="D1")).status_code == 201
    assert (await principal(client, company_admin, role="regulator")).status_code == 403
    assert (await principal(client, company_admin, role="inspector", agency_id="A1")).status_code == 403
    assert (await principal(client, company_admin, role="station_operator", company_id="C2")).status_code == 403
    foreign_station = await principal(client, company_admin, role="station_operator", company_id="C1",
                                      station_id="S2")
    assert foreign_station.status_code == 422 and foreign_station.json()["detail"][0]["loc"] == ["body", "station_id"]
    foreign_staff = await principal(client, company_admin, role="delivery_worker", company_id="C1", staff_id="D2")
    assert foreign_staff.status_code == 422 and foreign_staff.json()["detail"][0]["loc"] == ["body", "staff_id"]
    # an admin's bindings are checked the same way, and an unknown company is no company
    unknown = await principal(client, role="company_admin", company_id="NOPE")
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "company_id"]
    assert (await principal(client, role="inspector")).status_code == 422  # an inspector has its agency


async def test_an_operator_bound_to_a_station_works_only_there(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    operator = await f.token(client, "station_operator", company_id="C1", station_id="S1")
    code = (await f.cylinder(client, "C1"))["code"]
    elsewhere = await client.post("/api/v1/fills", headers=operator, json={
        "event_id": f.eid(), "code": code, "station_id": "S1B", "filler_id": "F1", "occurred_at": NOW,
        "net_mass_kg": 14.5, "checks": {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True}})
    assert elsewhere.status_code == 403
    check = await client.post("/api/v1/fill-checks", headers=operator, json={"code": code, "station_id": "S1B"})
    assert check.status_code == 403
    here = await client.post("/api/v1/fill-checks", headers=operator, json={"code": code, "station_id": "S1"})
    assert here.status_code == 200


async def test_a_revoked_token_is_refused_at_once(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    company_admin = await f.token(client, "company_admin", company_id="C1")
    made = await f.ok(await principal(client, company_admin, role="delivery_worker", company_id="C1"), 201)
    worker = {"Authorization": f"Bearer {made['token']}"}
    assert (await client.get("/api/v1/companies/C1", headers=worker)).status_code == 200
    other = await f.token(client, "company_admin", company_id="C2")
    assert (await client.delete(f"/api/v1/principals/{made['id']}", headers=other)).status_code == 403
    assert (await client.delete(f"/api/v1/principals/{made['id']}", headers=worker)).status_code == 403
    revoked = await f.ok(await client.delete(f"/api/v1/principals/{made['id']}", headers=company_admin))
    assert revoked["id"] == made["id"] and revoked["revoked_at"]
    refused = await client.get("/api/v1/companies/C1", headers=worker)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert (await client.delete("/api/v1/principals/nope")).status_code == 404


async def test_a_token_expires(client: httpx.AsyncClient, clock: Clock) -> None:
    await two_companies(client)
    expires = (clock.now + timedelta(hours=1)).isoformat()
    made = await f.ok(await principal(client, role="regulator", expires_at=expires), 201)
    regulator = {"Authorization": f"Bearer {made['token']}"}
    assert (await client.get("/api/v1/companies/C1", headers=regulator)).status_code == 200
    clock.advance(hours=1)
    assert (await client.get("/api/v1/companies/C1", headers=regulator)).status_code == 401
    past = await principal(client, role="regulator", expires_at="2020-01-01T00:00:00+08:00")
    assert past.status_code == 422 and past.json()["detail"][0]["loc"] == ["body", "expires_at"]


def cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CT_DATABASE_URL": url, "CT_EMBEDDED_BROKER": "false"}
    return subprocess.run([sys.executable, "-m", "cylinder_trace.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


async def test_cli_revokes_a_token(client: httpx.AsyncClient, pg_url: str) -> None:
    await two_companies(client)
    made = await f.ok(await principal(client, role="regulator"), 201)
    done = await asyncio.to_thread(cli, "token", "revoke", made["id"], url=pg_url)
    assert done.returncode == 0, done.stderr
    assert f"revoked: {made['id']}" in done.stdout
    assert (await client.get("/api/v1/companies/C1",
                             headers={"Authorization": f"Bearer {made['token']}"})).status_code == 401
    unknown = await asyncio.to_thread(cli, "token", "revoke", "nope", url=pg_url)
    assert unknown.returncode == 1 and "unknown principal" in unknown.stderr
