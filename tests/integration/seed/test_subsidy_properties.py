"""The subsidy ledger over random sequences of valve fits and scraps, on PostgreSQL through the HTTP API:
its total is 30 CNY per distinct first fit (neither the valve nor the cylinder earned before) plus 10 CNY
per eligible recycling, and every answer says whether its action earned.

Each Hypothesis example builds its own company (``P<n>``) in one database, so examples never see each
other's cylinders, valves or ledger rows.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import build_services
from cylinder_trace.settings import Settings
from tests.conftest import ADMIN_TOKEN, Clock
from tests.support import factories as f

from .helpers import REAL_NAME

SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
TODAY = "2026-11-28T10:00:00+08:00"
#: the day before the subsidies' effective day (2023-09-30): a fit then earns nothing
BEFORE_SUBSIDIES = "2023-09-29T10:00:00+08:00"
_examples = itertools.count(1)

Owner = Literal["company", "customer"]
#: what a cylinder is when it is scrapped: sound, or one of the seed's recycling categories
Kind = Literal["sound", "life_expired", "unqualified", "obsolete", "converted"]


@dataclass(frozen=True)
class CylinderSpec:
    owner: Owner
    kind: Kind


@dataclass(frozen=True)
class Fit:
    valve: int
    cylinder: int
    early: bool


@dataclass(frozen=True)
class Scrap:
    cylinder: int
    handed_in: bool
    by_agency: bool


Op = Fit | Scrap


#: every kind of cylinder the rules tell apart; each example has one of each, in its own order
ALL_SPECS: tuple[CylinderSpec, ...] = (
    *(CylinderSpec("company", k) for k in ("sound", "life_expired", "unqualified", "obsolete", "converted")),
    # a customer's cylinder is at the customer: it is never inspected here
    *(CylinderSpec("customer", k) for k in ("sound", "life_expired", "obsolete")),
)


@st.composite
def plans(draw: st.DrawFn) -> tuple[list[CylinderSpec], int, list[Op]]:
    """One of each kind of cylinder and a sequence of fits (one in four before the subsidies' day) and
    scraps, drawn uniformly (Hypothesis' own choices favour the first cylinders and valves). Most fits go
    to three of the cylinders, so valves move between cylinders and cylinders get second valves."""
    rnd = draw(st.randoms(use_true_random=True))
    cylinders = list(ALL_SPECS)
    rnd.shuffle(cylinders)
    valves = rnd.randint(2, 3)
    ops: list[Op] = []
    for _ in range(rnd.randint(6, 16)):
        if rnd.random() < 0.6:
            target = rnd.randrange(3) if rnd.random() < 0.7 else rnd.randrange(len(cylinders))
            ops.append(Fit(rnd.randrange(valves), target, rnd.random() < 0.25))
        else:
            ops.append(Scrap(rnd.randrange(len(cylinders)), rnd.random() < 0.7, rnd.random() < 0.5))
    return cylinders, valves, ops


@dataclass
class Oracle:
    """What the seed says each action earns (DOMAIN.md, Subsidies), kept by hand."""

    specs: list[CylinderSpec]
    paid_valves: set[int] = field(default_factory=set)
    paid_cylinders: set[int] = field(default_factory=set)
    fitted: dict[int, int] = field(default_factory=dict)  # cylinder → valve
    scrapped: set[int] = field(default_factory=set)
    total: int = 0

    def fit(self, op: Fit) -> tuple[int, bool]:
        """(expected status, whether it earns). A valve fitted elsewhere is a conflict before any rule speaks."""
        if any(v == op.valve and c != op.cylinder for c, v in self.fitted.items()):
            return 409, False
        if op.cylinder in self.scrapped:
            return 422, False
        earns = (self.specs[op.cylinder].owner == "company" and not op.early
                 and op.valve not in self.paid_valves and op.cylinder not in self.paid_cylinders)
        if earns:
            self.paid_valves.add(op.valve)
            self.paid_cylinders.add(op.cylinder)
            self.total += 30
        self.fitted[op.cylinder] = op.valve
        return 201, earns

    def scrap(self, op: Scrap) -> tuple[int, bool]:
        if op.cylinder in self.scrapped:
            return 422, False
        spec = self.specs[op.cylinder]
        earns = spec.owner == "customer" and spec.kind not in ("sound", "converted") and op.handed_in
        if earns:
            self.total += 10
        self.scrapped.add(op.cylinder)
        self.fitted.pop(op.cylinder, None)
        return 201, earns


async def _register(c: httpx.AsyncClient, n: int, i: int, spec: CylinderSpec) -> str:
    owner = {"company_id": f"P{n}"} if spec.owner == "company" else {"customer_id": f"P{n}U"}
    # made before BEFORE_SUBSIDIES: an early fit is dated after the cylinder was made, as event times must be
    made = "2010-01-01" if spec.kind == "life_expired" else "2023-01-01"
    model = "YSP118-II" if spec.kind in ("obsolete", "converted") else "YSP35.5"
    body = {"event_id": f.eid(), "model": model, "manufacturer_code": "M01", "manufactured_on": made,
            "owner": owner, "occurred_at": "2024-02-01T10:00:00+08:00", "serial": f"P{n}C{i}"}
    code = str((await f.ok(await c.post("/api/v1/cylinders", json=body), 201))["code"])
    if spec.kind in ("unqualified", "converted"):
        await f.ok(await c.post("/api/v1/inspections", json={
            "event_id": f.eid(), "code": code, "agency_id": f"P{n}A", "occurred_at": "2024-03-01T10:00:00+08:00",
            "result": "fail" if spec.kind == "unqualified" else "pass",
            "converted_to_single_phase": spec.kind == "converted"}), 201)
    return code


async def _town(c: httpx.AsyncClient, n: int, valves: int) -> None:
    await f.company(c, f"P{n}")
    await f.customer(c, f"P{n}U", company_id=f"P{n}")
    await f.ok(await c.post("/api/v1/agencies", json={"id": f"P{n}A", "name": "检验所", "licence_no": "JY-1",
                                                      "licence_valid_until": "2030-12-31"}))
    for v in range(valves):
        await f.ok(await c.post("/api/v1/valves", json={"valve_id": f"P{n}V{v}", "company_id": f"P{n}",
                                                        "secret": SECRET}))


async def _run(c: httpx.AsyncClient, plan: tuple[list[CylinderSpec], int, list[Op]]) -> None:
    specs, valves, ops = plan
    n = next(_examples)
    await _town(c, n, valves)
    codes = [await _register(c, n, i, spec) for i, spec in enumerate(specs)]
    oracle = Oracle(specs)
    for op in ops:
        if isinstance(op, Fit):
            status, earns = oracle.fit(op)
            response = await c.post(f"/api/v1/cylinders/{codes[op.cylinder]}/valve", json={
                "event_id": f.eid(), "valve_id": f"P{n}V{op.valve}",
                "occurred_at": BEFORE_SUBSIDIES if op.early else TODAY})
        else:
            status, earns = oracle.scrap(op)
            body: dict[str, Any] = {"event_id": f.eid(), "reason": "回收报废", "occurred_at": TODAY,
                                    "company_id": f"P{n}"}
            if op.handed_in:
                body["handed_in_by"] = REAL_NAME
            if op.by_agency:
                body["agency_id"] = f"P{n}A"
            response = await c.post(f"/api/v1/cylinders/{codes[op.cylinder]}/scrap", json=body)
        assert response.status_code == status, (op, response.text)
        if status == 201:
            assert response.json()["subsidy"]["earned"] is earns, (op, response.json()["subsidy"])
    ledger = await f.ok(await c.get("/api/v1/ledgers/subsidies", params={"company_id": f"P{n}"}))
    assert ledger["total_cny"] == oracle.total, (plan, ledger)


async def _example(url: str, plan: tuple[list[CylinderSpec], int, list[Op]]) -> None:
    settings_ = Settings(database_url=url, admin_token=ADMIN_TOKEN, embedded_broker=False, sweep_interval_s=0)
    services = build_services(settings_, clock=Clock(datetime.fromisoformat(TODAY).astimezone(UTC)))
    try:
        app = create_app(settings_, services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
            await _run(c, plan)
    finally:
        await services.close()


@settings(max_examples=25, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=plans())
def test_the_ledger_pays_each_valve_and_cylinder_once_and_only_eligible_recyclings(
        pg_url: str, plan: tuple[list[CylinderSpec], int, list[Op]]) -> None:
    asyncio.run(_example(pg_url, plan))
