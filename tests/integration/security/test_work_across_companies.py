"""Hole 1 and 11: no company moves, or learns about, another company's cylinders; work checks the holder."""

from __future__ import annotations

import httpx

from tests.support import factories as f

from .towns import NOW, collection, delivered_cylinder, delivery, full_cylinder, two_companies


async def history_types(c: httpx.AsyncClient, code: str) -> list[str]:
    return [e["type"] for e in (await f.ok(await c.get(f"/api/v1/cylinders/{code}/history")))["events"]]


async def test_another_companys_worker_cannot_collect_or_deliver_our_cylinders(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    theirs = await f.token(client, "delivery_worker", company_id="C2", staff_id="D2")
    at_our_customer = await delivered_cylinder(client, "C1")
    before = await history_types(client, at_our_customer)
    # B's worker "collects" A's cylinder from A's customer by naming B's own customer
    taken = await client.post("/api/v1/collections", json=collection(at_our_customer, "U2", "D2"), headers=theirs)
    assert taken.status_code == 403
    # and delivers A's full cylinder to B's customer
    full = await full_cylinder(client, "C1")
    delivered = await client.post("/api/v1/deliveries", json=delivery(full, "U2", "D2", "吉G10002"), headers=theirs)
    assert delivered.status_code == 403
    assert await history_types(client, at_our_customer) == before
    state = await f.ok(await client.get(f"/api/v1/cylinders/{full}"))
    assert state["status"] == "full_in_stock"


async def test_a_collection_names_the_customer_who_holds_the_cylinder(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    await f.customer(client, "U1B", "C1")
    ours = await f.token(client, "delivery_worker", company_id="C1", staff_id="D1")
    code = await delivered_cylinder(client, "C1")
    wrong = await client.post("/api/v1/collections", json=collection(code, "U1B", "D1"), headers=ours)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "customer_id"]
    right = await client.post("/api/v1/collections", json=collection(code, "U1", "D1"), headers=ours)
    assert right.status_code == 201, right.text


async def test_an_admin_cannot_mix_companies_in_one_piece_of_work(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    full = await full_cylinder(client, "C1")
    mixed = await f.deliver(client, full, customer_id="U2", worker_id="D2", vehicle_plate="吉G10002")
    assert mixed.status_code == 422 and mixed.json()["detail"][0]["loc"] == ["body", "code"]
    foreign_worker = await f.deliver(client, full, worker_id="D2")
    assert foreign_worker.status_code == 422 and foreign_worker.json()["detail"][0]["loc"] == ["body", "worker_id"]
    foreign_van = await f.deliver(client, full, worker_id="D1", vehicle_plate="吉G10002")
    assert foreign_van.status_code == 422 and foreign_van.json()["detail"][0]["loc"] == ["body", "vehicle_plate"]
    foreign_filler = await f.fill(client, (await f.cylinder(client, "C1"))["code"], filler_id="F2")
    assert foreign_filler.status_code == 422 and foreign_filler.json()["detail"][0]["loc"] == ["body", "filler_id"]


async def test_a_refused_swap_tells_nothing_of_another_companys_cylinder(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    theirs = await f.token(client, "delivery_worker", company_id="C2", staff_id="D2")
    ours = await delivered_cylinder(client, "C1")
    before = await history_types(client, ours)
    new = await full_cylinder(client, "C2")
    refused = await client.post("/api/v1/swaps", headers=theirs, json={
        "event_id": f.eid(), "old_code": ours, "new_code": new, "customer_id": "U2", "occurred_at": NOW,
        "residual_kg": 1.0})
    assert refused.status_code == 403
    assert "C1" not in refused.text and "U1" not in refused.text
    assert await history_types(client, ours) == before  # no SwapRefused written into company C1's stream


async def test_registering_another_companys_customer_id_tells_nothing_about_it(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    theirs = await f.token(client, "company_admin", company_id="C2")
    body = {"id": "U1", "company_id": "C2", "kind": "residential", "name": "李四", "id_number": "220102199202021111",
            "phone": "13900000009", "address": "别处"}
    taken = await client.post("/api/v1/customers", json=body, headers=theirs)
    assert taken.status_code == 409
    assert "exists" not in taken.text and "PATCH" not in taken.text
    # the owner itself still learns that its entry exists with other values
    own = await client.post("/api/v1/customers", json={**body, "company_id": "C1"},
                            headers=await f.token(client, "company_admin", company_id="C1"))
    assert own.status_code == 409 and "PATCH" in own.text
