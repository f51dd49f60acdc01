"""Hole 2, ID numbers at rest and the audit log: masked for all but admin and regulator everywhere, sealed
in storage, and the history still verifiable by anyone who holds it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.domain.checkpoints import new_signing_key
from cylinder_trace.settings import PLACEHOLDER_PERSONAL_DATA_KEY, Settings
from cylinder_trace.store.tables import command_log, events, registry
from tests.support import factories as f

from .towns import NOW, two_companies

ID_NUMBER = "220102199001011234"  # the factories' customer, and the hand-in person below
MASKED = "2201**********1234"
HANDED = {"name": "赵六", "id_number": ID_NUMBER, "phone": "13700000000", "address": "幸福街9号"}


def recomputed(event: dict[str, Any], prev: str) -> str:
    """DOMAIN.md, Tamper evidence, written out here: the sealed values put back where they were stored."""
    data = json.loads(json.dumps(event["data"]))
    for path, stored in event.get("sealed", {}).items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = stored
    body = {k: event[k] for k in ("event_id", "stream_id", "version", "type", "occurred_at", "recorded_at", "actor")}
    body["data"] = data
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode("ascii") + text.encode("utf-8")).hexdigest()


async def scrapped_with_hand_in(c: httpx.AsyncClient) -> str:
    code = str((await f.cylinder(c, "C1"))["code"])
    await f.ok(await c.post(f"/api/v1/cylinders/{code}/scrap", json={
        "event_id": f.eid(), "reason": "报废", "occurred_at": NOW, "company_id": "C1", "handed_in_by": HANDED}), 201)
    return code


async def test_a_hand_in_persons_id_number_is_masked_in_history_but_for_admin_and_regulator(
        client: httpx.AsyncClient) -> None:
    await two_companies(client)
    code = await scrapped_with_hand_in(client)
    viewers = {
        "company_admin": await f.token(client, "company_admin", company_id="C1"),
        "delivery_worker": await f.token(client, "delivery_worker", company_id="C1"),
        "inspector": await f.token(client, "inspector", agency_id="A2"),
        "regulator": await f.token(client, "regulator"),
        "admin": {},
    }
    for role, headers in viewers.items():
        history = await f.ok(await client.get(f"/api/v1/cylinders/{code}/history", headers=headers))
        scrap = history["events"][-1]
        assert scrap["type"] == "CylinderScrapped"
        shown = scrap["data"]["handed_in_by"]["id_number"]
        assert shown == (ID_NUMBER if role in ("admin", "regulator") else MASKED), role
        assert ID_NUMBER not in json.dumps(history) or role in ("admin", "regulator")
        # anyone holding the history recomputes the chain
        prev = "0" * 64
        for event in history["events"]:
            assert event["prev_hash"] == prev and recomputed(event, prev) == event["hash"], role
            prev = event["hash"]
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{code}/verify")))["valid"] is True


async def test_id_numbers_are_sealed_at_rest(client: httpx.AsyncClient, services: Services) -> None:
    await two_companies(client)
    await scrapped_with_hand_in(client)
    await f.ok(await client.patch("/api/v1/customers/U1", json={"id_number": "220102199001015678"}))
    async with services.engine.connect() as conn:
        stored = [json.dumps(r[0], ensure_ascii=False) for r in (await conn.execute(sa.select(events.c.data))).all()]
        stored += [json.dumps(r[0], ensure_ascii=False) for r in (await conn.execute(sa.select(registry.c.data)))]
        stored += [json.dumps(r[0], ensure_ascii=False)
                   for r in (await conn.execute(sa.select(command_log.c.response))).all()]
    assert not any(n in text for text in stored for n in (ID_NUMBER, "220102199001015678"))
    assert any('"id_number": "pd1:' in text for text in stored)
    # and they open again for those who may see them
    regulator = await f.token(client, "regulator")
    assert (await f.ok(await client.get("/api/v1/customers/U1", headers=regulator)))["id_number"] == \
        "220102199001015678"


async def test_registry_answers_mask_for_staff_and_repeat_posts_still_match(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    staff = await f.token(client, "company_admin", company_id="C1")
    assert (await f.ok(await client.get("/api/v1/customers/U1", headers=staff)))["id_number"] == MASKED
    patched = await f.ok(await client.patch("/api/v1/customers/U1", json={"phone": "13900000001"}, headers=staff))
    assert patched["id_number"] == MASKED
    again = await client.post("/api/v1/customers", json={
        "id": "U1", "company_id": "C1", "kind": "residential", "name": "张三", "id_number": ID_NUMBER,
        "phone": "13900000001", "address": "大岗子镇幸福街1号"})
    assert again.status_code == 200 and again.json()["id_number"] == ID_NUMBER


async def test_every_unmasked_read_is_in_the_audit_log_a_regulator_lists(client: httpx.AsyncClient) -> None:
    await two_companies(client)
    code = await scrapped_with_hand_in(client)
    made = await f.ok(await client.post("/api/v1/principals", json={"role": "regulator", "name": "监管"}), 201)
    regulator = {"Authorization": f"Bearer {made['token']}"}
    await f.ok(await client.get("/api/v1/customers/U2", headers=regulator))
    await f.ok(await client.get(f"/api/v1/cylinders/{code}/history", headers=regulator))
    staff = await f.token(client, "company_admin", company_id="C1")
    await f.ok(await client.get("/api/v1/customers/U1", headers=staff))  # masked: not an unmasked read
    log = await f.ok(await client.get("/api/v1/audit-log", headers=regulator))
    assert [(e["principal_id"], e["action"], e["subject"]) for e in log["items"]] == [
        (made["id"], "history.read_unmasked", f"cylinder:{code}"),
        (made["id"], "customer.read_unmasked", "customer:U2"),
    ]
    one = await f.ok(await client.get("/api/v1/audit-log", params={"limit": 1}, headers=regulator))
    rest = await f.ok(await client.get("/api/v1/audit-log", params={"cursor": one["next_cursor"]},
                                       headers=regulator))
    assert [e["id"] for e in one["items"] + rest["items"]][:2] == [e["id"] for e in log["items"]][:2]
    assert (await client.get("/api/v1/audit-log", headers=staff)).status_code == 403
    inspector = await f.token(client, "inspector", agency_id="A1")
    assert (await client.get("/api/v1/audit-log", headers=inspector)).status_code == 403


def test_the_key_is_a_real_key_and_no_placeholder_in_production() -> None:
    real_secrets = {"admin_token": "a-real-secret", "checkpoint_signing_key": new_signing_key()[0]}
    with pytest.raises(ValueError, match="CT_PERSONAL_DATA_KEY"):
        Settings(environment="production", **real_secrets)
    with pytest.raises(ValueError, match="32 bytes"):
        Settings(personal_data_key="dG9vIHNob3J0")
    assert Settings(environment="production", personal_data_key="q" * 43 + "=",
                    **real_secrets).personal_data_key != PLACEHOLDER_PERSONAL_DATA_KEY
