from __future__ import annotations

import httpx

from tests.support import factories as f


async def test_register_fill_deliver_and_read_history(client: httpx.AsyncClient) -> None:
    await f.town(client)
    cyl = await f.cylinder(client)
    code = cyl["code"]
    assert cyl["status"] == "empty_in_stock"
    assert code.startswith("0699999900004")
    assert cyl["epc"] == f"urn:epc:id:grai:6999999.00004.{cyl['serial']}"
    assert (await f.fill(client, code)).status_code == 201
    delivered = await f.ok(await f.deliver(client, code), 201)
    assert delivered["status"] == "at_customer"
    history = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history"))
    assert [e["type"] for e in history["events"]] == ["CylinderRegistered", "CylinderFilled", "CylinderDelivered"]
    verify = await f.ok(await client.get(f"/api/v1/cylinders/{code}/verify"))
    assert verify == {"valid": True, "count": 3, "head_hash": history["events"][-1]["hash"],
                      "first_bad_version": None, "reason": None}
