"""A batch of lifecycle valve messages costs a fixed handful of statements, however many messages it
holds: the fitted cylinders, the authorizations named and the cylinders' states and heads are loaded
once, the events staged in memory and written together, the findings projection fed from memory."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.store.tables import findings
from tests.support import factories as f
from tests.support.statements import statements

from .helpers import authorize, ingest, smart_cylinder
from .helpers import event as valve_event

pytestmark = pytest.mark.postgres
VALVES = 20


def messages(valves: list[str], first_seq: int, per_valve: int, auths: dict[str, list[str]]) -> list[Any]:
    """Per valve: opened/closed, with a fill under each of its authorizations and one forged fill."""
    out = []
    for v in valves:
        kinds: list[tuple[str, dict[str, Any]]] = []
        for auth_id in auths.get(v, []):
            kinds += [("fill_started", {"auth_id": auth_id}), ("fill_completed", {"auth_id": auth_id, "mass_kg": 14.0})]
        kinds.append(("fill_completed", {"auth_id": f"forged-{v}-{first_seq}", "mass_kg": 9.0}))
        while len(kinds) < per_valve:
            kinds.append(("opened", {}) if len(kinds) % 2 else ("closed", {}))
        out += [valve_event(v, first_seq + i, kind, data) for i, (kind, data) in enumerate(kinds[:per_valve])]
    return out


async def test_two_thousand_lifecycle_messages_cost_what_two_hundred_do(
    pg_client: httpx.AsyncClient, pg_services: Services,
) -> None:
    """PostgreSQL (SQLite, the development database, stores messages row by row)."""
    client, services = pg_client, pg_services
    await f.town(client)
    valves = [f"L{i:02d}" for i in range(VALVES)]
    codes = {v: await smart_cylinder(client, v) for v in valves}
    auths = {v: [(await authorize(services, codes[v])).auth_id] for v in valves[:5]}

    with statements(services) as small:
        outcome = await ingest(services, messages(valves, 1, 10, auths))
    assert (outcome.stored, outcome.appended) == (200, 200)
    with statements(services) as large:
        outcome = await ingest(services, messages(valves, 11, 100, {}))
    assert (outcome.stored, outcome.appended) == (2000, 2000)

    writes = [s for s in large if not s.lstrip().upper().startswith("SELECT")]
    assert len(large) <= 30, "\n".join(large)
    assert len(large) <= len(small) + 2, (small, large)  # the same steps: nothing is done per message
    assert len(writes) <= 15, "\n".join(writes)

    async with services.engine.connect() as conn:  # the forged fills: one finding per cylinder, two pieces of evidence
        illegal = (await conn.execute(sa.select(findings.c.subject, findings.c.evidence_count).where(
            findings.c.rule == "VALVE_ILLEGAL_REFILL"))).all()
    assert sorted(illegal) == sorted((f"cylinder:{code}", 2) for code in codes.values())
    for v in valves[:5]:
        history = (await f.ok(await client.get(f"/api/v1/cylinders/{codes[v]}/history")))["events"]
        verdicts = [e["data"].get("authorization") for e in history
                    if e["type"] == "ValveReported" and e["data"]["type"] == "fill_completed"]
        assert verdicts == ["authorized", "never_issued", "never_issued"]
