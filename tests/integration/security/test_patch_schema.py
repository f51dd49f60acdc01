"""Hole 6: a PATCH enforces what the POST enforces, field by field."""

from __future__ import annotations

import httpx
import pytest

from tests.support import factories as f


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/customers/U1", {"id_number": "2201**********1234"}, "id_number"),  # the masked number staff see
    ("/api/v1/customers/U1", {"name": ""}, "name"),
    ("/api/v1/customers/U1", {"address": "x" * 1_000_000}, "address"),
    ("/api/v1/customers/U1", {"phone": "<script>alert(1)</script>"}, "phone"),
    ("/api/v1/customers/U1", {"kind": "hacker"}, "kind"),
    ("/api/v1/valves/V1", {"secret": "not-hex"}, "secret"),
    ("/api/v1/stations/S1", {"licence_valid_until": "soon"}, "licence_valid_until"),
    ("/api/v1/vehicles/吉G12345", {"permit_no": ""}, "permit_no"),
])
async def test_a_patch_is_validated_as_the_post_is(client: httpx.AsyncClient, path: str, body: dict[str, object],
                                                   field: str) -> None:
    await f.town(client)
    await f.ok(await client.post("/api/v1/valves", json={"valve_id": "V1", "company_id": "C1", "secret": "ab" * 32}))
    before = await f.ok(await client.get(path))
    response = await client.patch(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field
    assert await f.ok(await client.get(path)) == before


async def test_a_required_field_may_change_but_not_be_removed(client: httpx.AsyncClient) -> None:
    await f.town(client)
    removed = await client.patch("/api/v1/customers/U1", json={"name": None})
    assert removed.status_code == 422 and "name" in removed.text
    changed = await f.ok(await client.patch("/api/v1/customers/U1", json={"name": "张三丰", "contract_no": None}))
    assert changed["name"] == "张三丰"
