"""The ingestor's transaction, on SQLite and PostgreSQL: effectively-once storage, dead letters,
device status, and lifecycle events with the valve rules."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.app.valve_batches import BatchOutcome, Verified
from cylinder_trace.domain.valves import missing_ranges
from cylinder_trace.ingest.ingestor import IngestOptions, Ingestor
from cylinder_trace.store.tables import dead_letters, valve_messages, valve_status
from cylinder_trace.store.valve_messages import read_missing
from tests.support import factories as f

from .helpers import T0, event, ingest, received, signed, smart_cylinder, status, valve


async def rows(services: Services, table: sa.Table) -> list[sa.Row]:  # type: ignore[type-arg]
    async with services.engine.connect() as conn:
        return list((await conn.execute(sa.select(table))).all())


async def history(client: httpx.AsyncClient, code: str) -> list[dict]:  # type: ignore[type-arg]
    return (await f.ok(await client.get(f"/api/v1/cylinders/{code}/history")))["events"]  # type: ignore[no-any-return]


async def test_each_valve_seq_is_stored_once_and_repeats_are_dropped(client: httpx.AsyncClient,
                                                                     services: Services) -> None:
    await f.company(client)
    await valve(client, "V1")
    first = await ingest(services, [event("V1", 1), event("V1", 2), event("V1", 2)])
    assert (first.stored, first.duplicates, first.dead_letters) == (2, 1, [])
    again = await ingest(services, [event("V1", 1), event("V1", 3)])
    assert (again.stored, again.duplicates) == (1, 1)
    stored = await rows(services, valve_messages)
    assert sorted((r.valve_id, r.seq) for r in stored) == [("V1", 1), ("V1", 2), ("V1", 3)]
    assert all(r.payload.startswith(b"{") and r.received_at == T0 for r in stored)


async def test_a_repeat_with_other_content_is_a_replay(client: httpx.AsyncClient, services: Services) -> None:
    await f.company(client)
    await valve(client, "V1")
    await ingest(services, [event("V1", 1, "leak", {"ppm": 10})])
    outcome = await ingest(services, [event("V1", 1, "leak", {"ppm": 99}),
                                      event("V1", 2), event("V1", 2, data={"battery_pct": 1, "rssi": -1})])
    assert outcome.stored == 1 and outcome.replays == 2
    letters = await rows(services, dead_letters)
    assert sorted(r.kind for r in letters) == ["replay", "replay"]
    assert {r.valve_id for r in letters} == {"V1"}
    [kept] = [r for r in await rows(services, valve_messages) if r.seq == 1]
    assert b'"ppm":10' in kept.payload


async def test_unknown_valves_bad_macs_and_garbage_are_dead_lettered(client: httpx.AsyncClient,
                                                                      services: Services) -> None:
    await f.company(client)
    await valve(client, "V1")
    outcome = await ingest(services, [
        event("V9", 1),  # not registered
        received("ct/v1/valves/V1/events", signed("V1", 2, secret=b"\x01" * 32)),  # another key
        received("ct/v1/valves/V1/events", b"\xff\x00 not json"),
        received("ct/v1/valves/V1/status", b"online", retain=False),
        status("V9", True, retain=False),
        event("V1", 3),
    ])
    assert outcome.stored == 1 and outcome.presence == 1
    kinds = sorted(r.kind for r in await rows(services, dead_letters))
    assert kinds == ["bad_mac", "not_utf8", "unknown_valve", "unknown_valve"]
    raw = {r.kind: r.payload for r in await rows(services, dead_letters)}
    assert raw["not_utf8"] == b"\xff\x00 not json"


async def test_a_changed_secret_is_used_at_once(client: httpx.AsyncClient, services: Services) -> None:
    await f.company(client)
    await valve(client, "V1")
    assert (await ingest(services, [event("V1", 1)])).stored == 1
    new_secret = bytes(range(32))
    await f.ok(await client.patch("/api/v1/valves/V1", json={"secret": new_secret.hex()}))
    outcome = await ingest(services, [event("V1", 2, secret=new_secret), event("V1", 3)])
    assert outcome.stored == 1 and [d.kind for d in outcome.dead_letters] == ["bad_mac"]


async def test_device_status_gaps_battery_and_presence(client: httpx.AsyncClient, services: Services) -> None:
    await f.company(client)
    await valve(client, "V1")
    await ingest(services, [event("V1", 1, data={"battery_pct": 90, "rssi": -50}), event("V1", 5),
                            status("V1", True)])
    await ingest(services, [event("V1", 3, "low_battery", {"battery_pct": 7}), event("V1", 9, "opened"),
                            status("V1", False, at=T0 + timedelta(minutes=1))])
    [row] = await rows(services, valve_status)
    assert row.last_seq == 9
    assert row.battery_pct == 80 and row.battery_seq == 5  # seq 3 is older than the reading of seq 5
    assert row.online is False and row.status_changed_at == T0 + timedelta(minutes=1)
    body = await f.ok(await client.get("/api/v1/valves/V1"))
    assert "secret" not in body
    assert body["valve_id"] == "V1" and body["company_id"] == "C1"
    assert (body["online"], body["last_seq"], body["missing_seq_ranges"]) == (False, 9, [[2, 2], [4, 4], [6, 8]])
    assert body["missing_seq_count"] == 5
    assert body["battery_pct"] == 80 and body["cylinder_code"] is None and body["last_seen"]


async def test_lifecycle_messages_enter_the_cylinder_history_with_rules(client: httpx.AsyncClient,
                                                                        services: Services) -> None:
    await f.town(client)
    code = await smart_cylinder(client, "V1")
    outcome = await ingest(services, [
        event("V1", 1),  # heartbeat: status only
        event("V1", 2, "opened"),
        event("V1", 3, "tamper", {"kind": "case_opened"}),
        event("V1", 4, "leak", {"ppm": 1200}),
        event("V1", 5, "refill_detected", {"delta_kg": 3.5}),
        event("V1", 6, "fill_completed", {"auth_id": "forged", "mass_kg": 14.0}),
    ])
    assert outcome.stored == 6 and outcome.appended == 5
    valve_events = [e for e in await history(client, code) if e["type"] == "ValveReported"]
    assert [e["data"]["type"] for e in valve_events] == ["opened", "tamper", "leak", "refill_detected",
                                                           "fill_completed"]
    assert {e["source"] for e in valve_events} == {"mqtt"} and {e["actor"] for e in valve_events} == {"valve:V1"}
    rules = [[v["rule"] for v in e["data"]["violations"]] for e in valve_events]
    assert rules == [[], ["VALVE_TAMPER"], ["VALVE_LEAK"], ["VALVE_ILLEGAL_REFILL"], ["VALVE_ILLEGAL_REFILL"]]
    assert valve_events[-1]["data"]["authorization"] == "never_issued"
    assert all(v["subject"] == f"cylinder:{code}" for e in valve_events for v in e["data"]["violations"])
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{code}/verify")))["valid"]
    # the same messages again add nothing to the history
    again = await ingest(services, [event("V1", 2, "opened"), event("V1", 4, "leak", {"ppm": 1200})])
    assert again.duplicates == 2 and again.appended == 0
    assert len([e for e in await history(client, code) if e["type"] == "ValveReported"]) == 5
    body = await f.ok(await client.get("/api/v1/valves/V1"))
    assert body["cylinder_code"] == code


async def test_a_valve_on_no_cylinder_is_stored_but_joins_no_history(client: httpx.AsyncClient,
                                                                      services: Services) -> None:
    await f.company(client)
    await valve(client, "V1")
    outcome = await ingest(services, [event("V1", 1, "leak", {"ppm": 5})])
    assert (outcome.stored, outcome.appended, outcome.unfitted) == (1, 0, 1)


async def test_dead_letters_endpoint(client: httpx.AsyncClient, services: Services) -> None:
    await f.company(client)
    await ingest(services, [received("ct/v1/valves/V1/events", b"\x00\x01binary"),
                            received("ct/v1/valves/V2/events", b"{oops"),
                            received("ct/v1/valves/V3/events", signed("V3", 1))])
    page = await f.ok(await client.get("/api/v1/dead-letters", params={"limit": 2}))
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await f.ok(await client.get("/api/v1/dead-letters", params={"limit": 2, "cursor": page["next_cursor"]}))
    items = page["items"] + rest["items"]
    assert rest["next_cursor"] is None and len(items) == 3
    not_ours = await client.get("/api/v1/dead-letters", params={"cursor": "bm90LWEtcG9zaXRpb24="})
    assert not_ours.status_code == 422 and not_ours.json()["detail"][0]["loc"] == ["query", "cursor"]
    by_valve = {i["valve_id"]: i for i in items}
    assert by_valve["V1"]["payload_encoding"] == "base64" and by_valve["V1"]["payload"] == "AAFiaW5hcnk="
    assert by_valve["V2"] == by_valve["V2"] | {"payload": "{oops", "payload_encoding": "utf-8", "kind": "not_json",
                                               "topic": "ct/v1/valves/V2/events"}
    assert by_valve["V3"]["kind"] == "unknown_valve" and by_valve["V3"]["received_at"]
    only = await f.ok(await client.get("/api/v1/dead-letters", params={"kind": "unknown_valve"}))
    assert [i["valve_id"] for i in only["items"]] == ["V3"]
    one = await f.ok(await client.get("/api/v1/dead-letters", params={"valve_id": "V2"}))
    assert [i["kind"] for i in one["items"]] == ["not_json"]
    created = await f.ok(await client.post("/api/v1/principals", json={"role": "company_admin", "name": "x",
                                                                        "company_id": "C1"}), 201)
    denied = await client.get("/api/v1/dead-letters", headers={"Authorization": f"Bearer {created['token']}"})
    assert denied.status_code == 403


async def test_missing_ranges_read_from_the_store_match_the_definition(services: Services) -> None:
    rng = random.Random(7)
    cases = {f"R{i}": {rng.randint(1, 60) for _ in range(rng.randint(0, 40))} for i in range(25)}
    cases["R-late-start"] = {5, 6, 9}
    now = T0
    async with services.engine.begin() as conn:
        rows_ = [{"valve_id": v, "seq": s, "type": "heartbeat", "ts": now, "received_at": now, "digest": "0" * 64,
                  "payload": b"{}"} for v, seqs in cases.items() for s in seqs]
        if rows_:
            await conn.execute(sa.insert(valve_messages), rows_)
    async with services.engine.connect() as conn:
        for valve_id, seqs in cases.items():
            assert await read_missing(conn, valve_id) == missing_ranges(seqs), valve_id


async def test_a_batch_the_database_refuses_is_split_until_the_message_is_found(
    client: httpx.AsyncClient, services: Services,
) -> None:
    """A data error (not a lost connection) is narrowed down by halves: the offending message is
    dead-lettered with the database's reason, every other one is stored."""
    await f.company(client)
    await valve(client, "V1")
    ingestor = Ingestor(services.uow, IngestOptions(url="mqtt://127.0.0.1:1", client_id="t"))
    stored_by_the_ingestor = ingestor._write

    async def refusing_seq_3(checked: Verified) -> BatchOutcome:
        if any(e.message.seq == 3 for e in checked.events):
            raise ValueError("value out of range for column")  # what a refused row looks like: not transient
        return await stored_by_the_ingestor(checked)

    ingestor._write = refusing_seq_3  # type: ignore[method-assign]
    assert await ingestor._commit([event("V1", seq) for seq in range(1, 7)]) is None  # it was split
    assert sorted(r.seq for r in await rows(services, valve_messages)) == [1, 2, 4, 5, 6]
    [letter] = await rows(services, dead_letters)
    assert letter.kind == "storage_error" and "value out of range" in letter.reason and b'"seq":3' in letter.payload
    assert (ingestor.stats.stored, ingestor.stats.dead_letters) == (5, 1)
