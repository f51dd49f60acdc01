from __future__ import annotations

import httpx
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.store.tables import audit_log, principals
from tests.support import factories as f


async def token(client: httpx.AsyncClient, role: str, **scope: str) -> str:
    body = await f.ok(await client.post("/api/v1/principals", json={"role": role, "name": role, **scope}), 201)
    return str(body["token"])


def as_(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


async def test_missing_or_bad_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/companies/C1", headers={"Authorization": ""})).status_code == 401
    assert (await client.get("/api/v1/companies/C1", headers=as_("nope"))).status_code == 401


async def test_tokens_are_stored_hashed(client: httpx.AsyncClient, services: Services) -> None:
    await f.company(client)
    tok = await token(client, "company_admin", company_id="C1")
    async with services.engine.connect() as conn:
        hashes = (await conn.execute(sa.select(principals.c.token_hash))).scalars().all()
    assert tok not in hashes and len(hashes) == 1 and len(hashes[0]) == 64
    assert (await client.get("/api/v1/companies/C1", headers=as_(tok))).status_code == 200


async def test_company_tokens_act_only_for_their_company(client: httpx.AsyncClient) -> None:
    await f.town(client)
    await f.company(client, "C2")
    await f.station(client, "S2", "C2")
    c2_admin = await token(client, "company_admin", company_id="C2")
    c1_worker = await token(client, "delivery_worker", company_id="C1", staff_id="D1")
    cyl = await f.cylinder(client)
    assert (await client.get(f"/api/v1/cylinders/{cyl['code']}", headers=as_(c2_admin))).status_code == 403
    assert (await client.get("/api/v1/stations/S1", headers=as_(c2_admin))).status_code == 403
    assert (await client.get("/api/v1/stations/S2", headers=as_(c2_admin))).status_code == 200
    assert (await client.get(f"/api/v1/cylinders/{cyl['code']}", headers=as_(c1_worker))).status_code == 200
    # a delivery worker may not register companies or fill
    assert (await client.post("/api/v1/companies", headers=as_(c1_worker), json={
        "id": "C3", "name": "x", "licence_no": "1", "licence_valid_until": "2030-01-01"})).status_code == 403
    assert (await f.fill(client.__class__(transport=client._transport, base_url="http://test",
                                          headers=as_(c1_worker)), cyl["code"])).status_code == 403
    listing = await f.ok(await client.get("/api/v1/cylinders", headers=as_(c2_admin)))
    assert listing["items"] == []


async def test_customer_id_numbers_are_masked_except_to_admin_and_regulator(
    client: httpx.AsyncClient, services: Services
) -> None:
    await f.town(client)
    staff = await token(client, "company_admin", company_id="C1")
    regulator = await token(client, "regulator")
    masked = await f.ok(await client.get("/api/v1/customers/U1", headers=as_(staff)))
    assert masked["id_number"] == "2201**********1234"
    plain = await f.ok(await client.get("/api/v1/customers/U1", headers=as_(regulator)))
    assert plain["id_number"] == "220102199001011234"
    async with services.engine.connect() as conn:
        rows = (await conn.execute(sa.select(audit_log))).all()
    assert [(r.action, r.subject) for r in rows] == [("customer.read_unmasked", "customer:U1")]


async def test_registry_changes_are_kept_with_who_and_when(client: httpx.AsyncClient) -> None:
    await f.town(client)
    restaurant = await f.customer(client, "R1", kind="non_residential", contract_no="HT-1",
                                  premises={"underground": False, "gas_alarm": False})
    assert restaurant["premises"]["gas_alarm"] is False
    changed = await f.ok(await client.patch("/api/v1/customers/R1", json={
        "premises": {"underground": False, "gas_alarm": True, "emergency_shutoff": True, "cylinder_room": False}}))
    assert changed["premises"]["gas_alarm"] is True
    again = await client.post("/api/v1/customers", json={
        "id": "R1", "company_id": "C1", "kind": "residential", "name": "x", "id_number": "12345678",
        "phone": "13900000000", "address": "y"})
    assert again.status_code == 409
    assert (await client.patch("/api/v1/customers/NOPE", json={"name": "x"})).status_code == 404
