"""The route matrix: every route × every role × own company / other company, and anonymous.

The routes come from the app itself: every operation of the OpenAPI document and every route kept out
of it (pages, ``/metrics``) but the API docs. Each must have a row in :data:`MATRIX` (what it answers)
and a probe in :data:`PROBES` (a request that is valid, so that the status says who may do it): a new
route without either fails :func:`test_every_route_has_a_row`.

Columns: for each role, the status when the request concerns the role's own company ("own": company C1,
station S1, agency A1 — the tokens' bindings) and another company ("other": C2, S2, A2), then anonymous
(no token). Roles that act for every company answer the same in both columns unless a binding matters
(an inspector records inspections for its own agency only).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Route

from cylinder_trace.api.main import create_app
from cylinder_trace.app.services import Services
from tests.conftest import Clock
from tests.support import factories as f
from tests.support.desk import Desk, browser, form_token, sign_in

from .towns import NOW, two_companies

ROLES = ("admin", "regulator", "company_admin", "station_operator", "delivery_worker", "inspector")
#: the docs FastAPI serves about the API: not routes of the service itself
DOCS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})

MATRIX_TEXT = """
# method path                                        admin    regulator company_adm operator  worker   inspector anon
GET    /healthz                                      200 200  200 200  200 200     200 200   200 200  200 200   200
GET    /readyz                                       200 200  200 200  200 200     200 200   200 200  200 200   200
GET    /metrics                                      200 200  200 200  200 200     200 200   200 200  200 200   200
GET    /8003/{grai}                                  200 200  200 200  200 200     200 200   200 200  200 200   200
POST   /api/v1/reports                               201 201  201 201  201 201     201 201   201 201  201 201   201
GET    /api/v1/reports/{report_id}                   200 200  200 200  403 403     403 403   403 403  403 403   401
POST   /api/v1/principals                            201 201  403 403  201 403     403 403   403 403  403 403   401
DELETE /api/v1/principals/{principal_id}             200 200  403 403  200 403     403 403   403 403  403 403   401
GET    /api/v1/audit-log                             200 200  200 200  403 403     403 403   403 403  403 403   401
POST   /api/v1/companies                             201 201  201 201  403 403     403 403   403 403  403 403   401
GET    /api/v1/companies/{entry_id}                  200 200  200 200  200 403     200 403   200 403  200 200   401
PATCH  /api/v1/companies/{entry_id}                  200 200  200 200  403 403     403 403   403 403  403 403   401
POST   /api/v1/stations                              201 201  201 201  201 403     403 403   403 403  403 403   401
GET    /api/v1/stations/{entry_id}                   200 200  200 200  200 403     200 403   200 403  403 403   401
PATCH  /api/v1/stations/{entry_id}                   200 200  200 200  200 403     403 403   403 403  403 403   401
POST   /api/v1/staff                                 201 201  201 201  201 403     403 403   403 403  403 403   401
GET    /api/v1/staff/{entry_id}                      200 200  200 200  200 403     200 403   200 403  403 403   401
PATCH  /api/v1/staff/{entry_id}                      200 200  200 200  200 403     403 403   403 403  403 403   401
POST   /api/v1/vehicles                              201 201  201 201  201 403     403 403   403 403  403 403   401
GET    /api/v1/vehicles/{entry_id}                   200 200  200 200  200 403     200 403   200 403  403 403   401
PATCH  /api/v1/vehicles/{entry_id}                   200 200  200 200  200 403     403 403   403 403  403 403   401
POST   /api/v1/agencies                              201 201  201 201  403 403     403 403   403 403  403 403   401
GET    /api/v1/agencies/{entry_id}                   200 200  200 200  200 200     200 200   200 200  200 200   401
PATCH  /api/v1/agencies/{entry_id}                   200 200  200 200  403 403     403 403   403 403  403 403   401
POST   /api/v1/customers                             201 201  201 201  201 403     403 403   403 403  403 403   401
GET    /api/v1/customers/{entry_id}                  200 200  200 200  200 403     200 403   200 403  403 403   401
PATCH  /api/v1/customers/{entry_id}                  200 200  200 200  200 403     403 403   403 403  403 403   401
POST   /api/v1/valves                                201 201  201 201  201 403     403 403   403 403  403 403   401
GET    /api/v1/valves/{entry_id}                     200 200  200 200  200 403     200 403   200 403  403 403   401
PATCH  /api/v1/valves/{entry_id}                     200 200  200 200  200 403     403 403   403 403  403 403   401
POST   /api/v1/cylinders                             201 201  201 201  201 403     201 403   403 403  403 403   401
GET    /api/v1/cylinders                             200 200  200 200  200 403     200 403   200 403  200 200   401
GET    /api/v1/cylinders/{code}                      200 200  200 200  200 403     200 403   200 403  200 200   401
GET    /api/v1/cylinders/{code}/history              200 200  200 200  200 403     200 403   200 403  200 200   401
GET    /api/v1/cylinders/{code}/verify               200 200  200 200  200 403     200 403   200 403  200 200   401
GET    /api/v1/cylinders/{code}/label                200 200  200 200  200 403     200 403   200 403  200 200   401
POST   /api/v1/cylinders/{code}/valve                201 201  403 403  201 403     201 403   403 403  403 403   401
POST   /api/v1/cylinders/{code}/seize                201 201  201 201  403 403     403 403   403 403  201 201   401
POST   /api/v1/cylinders/{code}/scrap                201 201  201 201  201 403     403 403   403 403  201 201   401
POST   /api/v1/labels/sheet                          200 200  200 200  200 403     200 403   200 403  200 200   401
POST   /api/v1/scan                                  200 200  200 200  200 403     200 403   200 403  200 200   401
POST   /api/v1/fill-checks                           200 200  403 403  200 403     200 403   403 403  403 403   401
POST   /api/v1/fills                                 201 201  403 403  201 403     201 403   403 403  403 403   401
POST   /api/v1/deliveries                            201 201  403 403  201 403     201 403   201 403  403 403   401
POST   /api/v1/collections                           201 201  403 403  201 403     201 403   201 403  403 403   401
POST   /api/v1/safety-checks                         201 201  403 403  201 403     201 403   201 403  403 403   401
POST   /api/v1/inspections                           201 201  403 403  403 403     403 403   403 403  201 403   401
POST   /api/v1/sweeps                                200 200  200 200  403 403     403 403   403 403  403 403   401
POST   /api/v1/swaps/quote                           200 200  200 200  200 403     200 403   200 403  200 200   401
POST   /api/v1/swaps                                 201 201  403 403  201 403     201 403   201 403  403 403   401
POST   /api/v1/swaps/{swap_id}/refund-deposit        201 201  403 403  201 403     201 403   201 403  403 403   401
GET    /api/v1/findings                              200 200  200 200  200 403     200 403   200 403  403 403   401
GET    /api/v1/findings/{finding_id}                 200 200  200 200  200 403     200 403   200 403  403 403   401
POST   /api/v1/findings/{finding_id}/rectify         200 200  403 403  200 403     403 403   403 403  403 403   401
POST   /api/v1/findings/{finding_id}/close           403 403  200 200  403 403     403 403   403 403  403 403   401
POST   /api/v1/findings/{finding_id}/reopen          403 403  200 200  403 403     403 403   403 403  403 403   401
GET    /api/v1/ledgers/subsidies                     200 200  200 200  200 403     200 403   200 403  403 403   401
GET    /api/v1/ledgers/swaps                         200 200  200 200  200 403     200 403   200 403  403 403   401
GET    /api/v1/epcis/events                          200 200  200 200  200 200     200 200   200 200  200 200   401
GET    /api/v1/epcis/epcs/{epc}/events               200 200  200 200  200 200     200 200   200 200  200 200   401
GET    /api/v1/dead-letters                          200 200  200 200  403 403     403 403   403 403  403 403   401
POST   /api/v1/checkpoints                           201 201  201 201  403 403     403 403   403 403  403 403   401
GET    /api/v1/checkpoints/latest                    200 200  200 200  403 403     403 403   403 403  403 403   401
GET    /api/v1/checkpoints/{sequence}                200 200  200 200  403 403     403 403   403 403  403 403   401
GET    /api/v1/checkpoints/{sequence}/cylinders/{code} 200 200 200 200 403 403     403 403   403 403  403 403   401
# the regulator's desk: a signed-in session instead of a token; without one a page sends you to sign in
GET    /                                             200 200  200 200  200 200     200 200   200 200  200 200   200
GET    /signin                                       200 200  200 200  200 200     200 200   200 200  200 200   200
POST   /signin                                       303 303  303 303  303 303     303 303   303 303  303 303   401
POST   /signout                                      303 303  303 303  303 303     303 303   303 303  303 303   303
GET    /lang/{lang}                                  303 303  303 303  303 303     303 303   303 303  303 303   303
GET    /desk                                         200 200  200 200  200 403     200 403   200 403  200 200   303
GET    /desk/cylinders                               200 200  200 200  200 403     200 403   200 403  200 200   303
GET    /desk/cylinders/{code}                        200 200  200 200  200 404     200 404   200 404  200 200   303
POST   /desk/cylinders/scan                          303 303  303 303  303 303     303 303   303 303  303 303   303
GET    /desk/findings                                200 200  200 200  200 403     200 403   200 403  403 403   303
GET    /desk/findings/{finding_id}                   200 200  200 200  200 403     200 403   200 403  403 403   303
POST   /desk/findings/{finding_id}/{action}          303 303  403 403  303 403     403 403   403 403  403 403   303
GET    /desk/ledgers/subsidies                       200 200  200 200  200 403     200 403   200 403  403 403   303
GET    /desk/ledgers/swaps                           200 200  200 200  200 403     200 403   200 403  403 403   303
GET    /desk/valves                                  200 200  200 200  200 403     200 403   200 403  403 403   303
GET    /desk/valves/dead-letters                     200 200  200 200  403 403     403 403   403 403  403 403   303
"""


@dataclass(frozen=True, slots=True)
class Row:
    by_role: dict[str, tuple[int, int]]
    anonymous: int


def parse_matrix(text: str) -> dict[tuple[str, str], Row]:
    rows: dict[tuple[str, str], Row] = {}
    for line in text.strip().splitlines():
        if line.startswith("#"):
            continue
        method, path, *codes = line.split()
        assert len(codes) == 2 * len(ROLES) + 1, line
        numbers = [int(c) for c in codes]
        by_role = {role: (numbers[2 * i], numbers[2 * i + 1]) for i, role in enumerate(ROLES)}
        assert (method, path) not in rows, f"two rows for {method} {path}"
        rows[(method, path)] = Row(by_role, numbers[-1])
    return rows


MATRIX = parse_matrix(MATRIX_TEXT)


# --- the town the probes act in ------------------------------------------------------------------
@dataclass
class Side:
    """One company's side of the town: C1/S1/F1/D1/U1/A1 ("own") or C2/… ("other")."""

    n: str
    cylinder: str = ""
    epc: str = ""
    finding: str = ""

    @property
    def company(self) -> str:
        return f"C{self.n}"

    @property
    def plate(self) -> str:
        return f"吉G1000{self.n}"

    def ids(self) -> dict[str, str]:
        n = self.n
        return {"company_id": f"C{n}", "station_id": f"S{n}", "filler_id": f"F{n}", "worker_id": f"D{n}",
                "customer_id": f"U{n}", "agency_id": f"A{n}"}


@dataclass
class Town:
    admin: httpx.AsyncClient
    clock: Clock
    sides: dict[str, Side] = field(default_factory=dict)
    report_id: str = ""

    # fresh things a probe changes, so that each probe finds the state it needs
    async def cylinder(self, side: Side, **extra: Any) -> str:
        return str((await f.cylinder(self.admin, side.company, **extra))["code"])

    async def full(self, side: Side) -> str:
        code = await self.cylinder(side)
        await f.ok(await f.fill(self.admin, code, station_id=f"S{side.n}", filler_id=f"F{side.n}"), 201)
        return code

    async def delivered(self, side: Side) -> str:
        code = await self.full(side)
        await f.ok(await self.admin.post("/api/v1/deliveries", json=delivery(side, code)), 201)
        return code

    async def finding(self, side: Side) -> str:
        """A new open finding of the side's company (an overdue cylinder's refused fill)."""
        code = await self.cylinder(side, manufactured_on="2019-05-01")
        assert (await f.fill(self.admin, code, station_id=f"S{side.n}", filler_id=f"F{side.n}")).status_code == 422
        found = await f.ok(await self.admin.get("/api/v1/findings", params={"subject": f"cylinder:{code}"}))
        return str(found["items"][0]["id"])

    async def rectified(self, side: Side) -> str:
        finding = await self.finding(side)
        await f.ok(await self.admin.post(f"/api/v1/findings/{finding}/rectify", json={"note": "已整改"}))
        return finding

    async def user_cylinder(self, side: Side, made: str) -> str:
        return str((await f.ok(await self.admin.post("/api/v1/cylinders", json={
            "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": made,
            "owner": {"customer_id": f"U{side.n}"}, "occurred_at": "2024-06-01T09:00:00+08:00"}), 201))["code"])

    async def swap_body(self, side: Side, made: str = "2024-01-01") -> dict[str, Any]:
        return {"event_id": f.eid(), "old_code": await self.user_cylinder(side, made),
                "new_code": await self.full(side), "customer_id": f"U{side.n}", "occurred_at": NOW,
                "residual_kg": 1.0}

    async def swap_with_deposit(self, side: Side) -> tuple[str, str]:
        body = await self.swap_body(side, "2018-06-01")  # older than 7 years: the recycle branch
        done = await f.ok(await self.admin.post("/api/v1/swaps", json=body), 201)
        return str(done["swap_id"]), str(body["new_code"])

    async def valve(self, side: Side) -> str:
        valve_id = "V" + uuid.uuid4().hex[:12]
        await f.ok(await self.admin.post("/api/v1/valves", json={"valve_id": valve_id, "company_id": side.company,
                                                                 "secret": "ab" * 32}), 201)
        return valve_id

    async def principal(self, side: Side) -> str:
        made = await f.ok(await self.admin.post("/api/v1/principals", json={
            "role": "delivery_worker", "name": "送气工", "company_id": side.company}), 201)
        return str(made["id"])


def delivery(side: Side, code: str) -> dict[str, Any]:
    return {"event_id": f.eid(), "code": code, "customer_id": f"U{side.n}", "worker_id": f"D{side.n}",
            "vehicle_plate": side.plate, "occurred_at": "2026-11-28T10:00:00+08:00",
            "safety_check": {"performed": True, "notice_given": True, "customer_signed": True, "hazards": []}}


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:10]


# --- probes: one valid request per route, for one side -------------------------------------------
@dataclass(frozen=True, slots=True)
class Call:
    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: a page of the desk: sent with the role's signed-in session (a form with its CSRF token), not a token
    page: bool = False
    #: a page call that needs a browser of its own (signing in, signing out): gets one and the role's token
    send: Callable[[httpx.AsyncClient, str | None], Awaitable[httpx.Response]] | None = None


Probe = Callable[[Town, Side], Awaitable[Call]]
PROBES: dict[tuple[str, str], Probe] = {}


def probe(method: str, path: str) -> Callable[[Probe], Probe]:
    def register(fn: Probe) -> Probe:
        PROBES[(method, path)] = fn
        return fn

    return register


def simple(method: str, path: str, url: Callable[[Side], str], body: Callable[[Side], Any] | None = None) -> None:
    async def call(_: Town, side: Side) -> Call:
        return Call(method, url(side), {"json": body(side)} if body else {})

    PROBES[(method, path)] = call


simple("GET", "/healthz", lambda s: "/healthz")
simple("GET", "/readyz", lambda s: "/readyz")
simple("GET", "/metrics", lambda s: "/metrics")
simple("GET", "/8003/{grai}", lambda s: f"/8003/{s.cylinder}")
simple("GET", "/api/v1/audit-log", lambda s: "/api/v1/audit-log")
simple("GET", "/api/v1/dead-letters", lambda s: "/api/v1/dead-letters")
simple("POST", "/api/v1/sweeps", lambda s: "/api/v1/sweeps")
simple("POST", "/api/v1/checkpoints", lambda s: "/api/v1/checkpoints")
simple("GET", "/api/v1/checkpoints/latest", lambda s: "/api/v1/checkpoints/latest")
simple("GET", "/api/v1/checkpoints/{sequence}", lambda s: "/api/v1/checkpoints/1")
simple("GET", "/api/v1/checkpoints/{sequence}/cylinders/{code}",
       lambda s: f"/api/v1/checkpoints/1/cylinders/{s.cylinder}")
simple("POST", "/api/v1/principals", lambda s: "/api/v1/principals",
       lambda s: {"role": "delivery_worker", "name": "送气工", "company_id": s.company})


@probe("POST", "/api/v1/reports")
async def _report(town: Town, side: Side) -> Call:
    town.clock.advance(minutes=11)  # a new rate-limit window for every report
    return Call("POST", "/api/v1/reports", {"json": {"kind": "other", "description": "举报"}})


@probe("GET", "/api/v1/reports/{report_id}")
async def _read_report(town: Town, side: Side) -> Call:
    return Call("GET", f"/api/v1/reports/{town.report_id}")


@probe("DELETE", "/api/v1/principals/{principal_id}")
async def _revoke(town: Town, side: Side) -> Call:
    return Call("DELETE", f"/api/v1/principals/{await town.principal(side)}")


REGISTRY_BODIES: dict[str, Callable[[Side], dict[str, Any]]] = {
    "companies": lambda s: {"id": new_id("C"), "name": "新公司", "licence_no": "L",
                            "licence_valid_until": "2030-12-31"},
    "stations": lambda s: {"id": new_id("S"), "company_id": s.company, "name": "站", "licence_no": "L",
                           "licence_valid_until": "2030-12-31"},
    "staff": lambda s: {"id": new_id("P"), "company_id": s.company, "name": "王", "phone": "13800000001",
                        "kind": "filler", "certificate_no": "C", "certificate_valid_until": "2030-12-31"},
    "vehicles": lambda s: {"plate": new_id("吉")[:12], "company_id": s.company, "permit_no": "W",
                           "permit_valid_until": "2030-12-31"},
    "agencies": lambda s: {"id": new_id("A"), "name": "检验所", "licence_no": "J", "licence_valid_until": "2030-12-31"},
    "customers": lambda s: {"id": new_id("U"), "company_id": s.company, "kind": "residential", "name": "张",
                            "id_number": "220102199001011234", "phone": "13900000000", "address": "街1号"},
    "valves": lambda s: {"valve_id": new_id("V"), "company_id": s.company, "secret": "cd" * 32},
}
REGISTRY_IDS: dict[str, Callable[[Side], str]] = {
    "companies": lambda s: s.company, "stations": lambda s: f"S{s.n}", "staff": lambda s: f"D{s.n}",
    "vehicles": lambda s: quote(s.plate), "agencies": lambda s: f"A{s.n}", "customers": lambda s: f"U{s.n}",
    "valves": lambda s: f"V{s.n}",
}
REGISTRY_CHANGES: dict[str, Callable[[Side], dict[str, Any]]] = {
    "companies": lambda s: {"licence_no": new_id("L")}, "stations": lambda s: {"licence_no": new_id("L")},
    "staff": lambda s: {"certificate_no": new_id("C")}, "vehicles": lambda s: {"permit_no": new_id("W")},
    "agencies": lambda s: {"licence_no": new_id("L")}, "customers": lambda s: {"address": new_id("街")},
    "valves": lambda s: {"secret": uuid.uuid4().hex * 2},
}
for _collection in REGISTRY_BODIES:
    simple("POST", f"/api/v1/{_collection}", lambda s, c=_collection: f"/api/v1/{c}",
           REGISTRY_BODIES[_collection])
    simple("GET", f"/api/v1/{_collection}/{{entry_id}}",
           lambda s, c=_collection: f"/api/v1/{c}/{REGISTRY_IDS[c](s)}")
    simple("PATCH", f"/api/v1/{_collection}/{{entry_id}}",
           lambda s, c=_collection: f"/api/v1/{c}/{REGISTRY_IDS[c](s)}",
           REGISTRY_CHANGES[_collection])

simple("POST", "/api/v1/cylinders", lambda s: "/api/v1/cylinders",
       lambda s: {"event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2023-05-01",
                  "owner": {"company_id": s.company}, "occurred_at": "2023-09-01T09:00:00+08:00"})
simple("GET", "/api/v1/cylinders", lambda s: f"/api/v1/cylinders?owner_company_id={s.company}")
for _tail in ("", "/history", "/verify", "/label"):
    simple("GET", f"/api/v1/cylinders/{{code}}{_tail}", lambda s, t=_tail: f"/api/v1/cylinders/{s.cylinder}{t}")
simple("POST", "/api/v1/labels/sheet", lambda s: "/api/v1/labels/sheet", lambda s: {"codes": [s.cylinder]})
simple("POST", "/api/v1/fill-checks", lambda s: "/api/v1/fill-checks",
       lambda s: {"code": s.cylinder, "station_id": f"S{s.n}"})
simple("POST", "/api/v1/swaps/quote", lambda s: "/api/v1/swaps/quote",
       lambda s: {"code": s.cylinder, "on": "2026-11-28", "residual_kg": 1.0})
simple("POST", "/api/v1/safety-checks", lambda s: "/api/v1/safety-checks",
       lambda s: {"event_id": f.eid(), "customer_id": f"U{s.n}", "worker_id": f"D{s.n}", "occurred_at": NOW,
                  "notice_given": True, "customer_signed": True, "hazards": []})
simple("GET", "/api/v1/findings", lambda s: f"/api/v1/findings?company_id={s.company}")
simple("GET", "/api/v1/findings/{finding_id}", lambda s: f"/api/v1/findings/{s.finding}")
simple("GET", "/api/v1/ledgers/subsidies", lambda s: f"/api/v1/ledgers/subsidies?company_id={s.company}")
simple("GET", "/api/v1/ledgers/swaps", lambda s: f"/api/v1/ledgers/swaps?company_id={s.company}")
simple("GET", "/api/v1/epcis/events", lambda s: f"/api/v1/epcis/events?MATCH_epc={s.epc}")
simple("GET", "/api/v1/epcis/epcs/{epc}/events", lambda s: f"/api/v1/epcis/epcs/{s.epc}/events")


@probe("POST", "/api/v1/scan")
async def _scan(town: Town, side: Side) -> Call:
    label = await town.admin.get(f"/api/v1/cylinders/{side.cylinder}/label")
    return Call("POST", "/api/v1/scan", {"files": {"image": ("label.png", label.content, "image/png")}})


@probe("POST", "/api/v1/cylinders/{code}/valve")
async def _fit(town: Town, side: Side) -> Call:
    code, valve = await town.cylinder(side), await town.valve(side)
    return Call("POST", f"/api/v1/cylinders/{code}/valve",
                {"json": {"event_id": f.eid(), "valve_id": valve, "occurred_at": NOW}})


@probe("POST", "/api/v1/cylinders/{code}/seize")
async def _seize(town: Town, side: Side) -> Call:
    return Call("POST", f"/api/v1/cylinders/{await town.cylinder(side)}/seize",
                {"json": {"event_id": f.eid(), "reason": "查处", "occurred_at": NOW}})


@probe("POST", "/api/v1/cylinders/{code}/scrap")
async def _scrap(town: Town, side: Side) -> Call:
    return Call("POST", f"/api/v1/cylinders/{await town.cylinder(side)}/scrap",
                {"json": {"event_id": f.eid(), "reason": "报废", "occurred_at": NOW, "company_id": side.company}})


@probe("POST", "/api/v1/fills")
async def _fill(town: Town, side: Side) -> Call:
    return Call("POST", "/api/v1/fills", {"json": {
        "event_id": f.eid(), "code": await town.cylinder(side), "station_id": f"S{side.n}",
        "filler_id": f"F{side.n}", "occurred_at": NOW, "net_mass_kg": 14.5,
        "checks": {"pre_fill_ok": True, "post_fill_ok": True, "leak_ok": True}}})


@probe("POST", "/api/v1/deliveries")
async def _deliver(town: Town, side: Side) -> Call:
    return Call("POST", "/api/v1/deliveries", {"json": delivery(side, await town.full(side))})


@probe("POST", "/api/v1/collections")
async def _collect(town: Town, side: Side) -> Call:
    return Call("POST", "/api/v1/collections", {"json": {
        "event_id": f.eid(), "code": await town.delivered(side), "customer_id": f"U{side.n}",
        "worker_id": f"D{side.n}", "occurred_at": "2026-11-28T10:00:00+08:00"}})


@probe("POST", "/api/v1/inspections")
async def _inspect(town: Town, side: Side) -> Call:
    return Call("POST", "/api/v1/inspections", {"json": {
        "event_id": f.eid(), "code": await town.cylinder(side), "agency_id": f"A{side.n}", "occurred_at": NOW,
        "result": "pass"}})


@probe("POST", "/api/v1/swaps")
async def _swap(town: Town, side: Side) -> Call:
    return Call("POST", "/api/v1/swaps", {"json": await town.swap_body(side)})


@probe("POST", "/api/v1/swaps/{swap_id}/refund-deposit")
async def _refund(town: Town, side: Side) -> Call:
    swap_id, returned = await town.swap_with_deposit(side)
    return Call("POST", f"/api/v1/swaps/{swap_id}/refund-deposit",
                {"json": {"event_id": f.eid(), "occurred_at": "2026-11-28T10:00:00+08:00",
                          "returned_code": returned}})


@probe("POST", "/api/v1/findings/{finding_id}/rectify")
async def _rectify(town: Town, side: Side) -> Call:
    return Call("POST", f"/api/v1/findings/{await town.finding(side)}/rectify", {"json": {"note": "已整改"}})


@probe("POST", "/api/v1/findings/{finding_id}/close")
async def _close(town: Town, side: Side) -> Call:
    return Call("POST", f"/api/v1/findings/{await town.rectified(side)}/close", {"json": {"note": "销号"}})


@probe("POST", "/api/v1/findings/{finding_id}/reopen")
async def _reopen(town: Town, side: Side) -> Call:
    return Call("POST", f"/api/v1/findings/{await town.rectified(side)}/reopen", {"json": {"note": "复查未改"}})


# --- the desk's pages (a signed-in session instead of a token) ------------------------------------
def page(path: str, url: Callable[[Side], str], method: str = "GET") -> None:
    async def call(_: Town, side: Side) -> Call:
        return Call(method, url(side), page=True)

    PROBES[(method, path)] = call


page("/", lambda s: "/")
page("/signin", lambda s: "/signin")
page("/lang/{lang}", lambda s: "/lang/en?next=/desk")
page("/desk", lambda s: f"/desk?company_id={s.company}")
page("/desk/cylinders", lambda s: f"/desk/cylinders?owner_company_id={s.company}")
page("/desk/cylinders/{code}", lambda s: f"/desk/cylinders/{s.cylinder}")
page("/desk/findings", lambda s: f"/desk/findings?company_id={s.company}")
page("/desk/findings/{finding_id}", lambda s: f"/desk/findings/{s.finding}")
page("/desk/ledgers/subsidies", lambda s: f"/desk/ledgers/subsidies?company_id={s.company}")
page("/desk/ledgers/swaps", lambda s: f"/desk/ledgers/swaps?company_id={s.company}")
page("/desk/valves", lambda s: f"/desk/valves?company_id={s.company}")
page("/desk/valves/dead-letters", lambda s: "/desk/valves/dead-letters")


async def signed_in_browser(c: httpx.AsyncClient, token: str | None) -> str:
    """Signs ``c`` in with ``token`` (none: stays anonymous); the session's form token."""
    if token is None:
        return "no-session"
    assert (await sign_in(c, token)).status_code == 303
    return form_token((await c.get("/")).text)


@probe("POST", "/signin")
async def _signin(town: Town, side: Side) -> Call:
    async def send(c: httpx.AsyncClient, token: str | None) -> httpx.Response:
        form = await c.get("/signin")
        return await c.post("/signin", data={"token": token or "not-a-token", "csrf": form_token(form.text)})

    return Call("POST", "/signin", page=True, send=send)


@probe("POST", "/signout")
async def _signout(town: Town, side: Side) -> Call:
    async def send(c: httpx.AsyncClient, token: str | None) -> httpx.Response:
        csrf = await signed_in_browser(c, token)
        return await c.post("/signout", data={"csrf": csrf})

    return Call("POST", "/signout", page=True, send=send)


@probe("POST", "/desk/cylinders/scan")
async def _desk_scan(town: Town, side: Side) -> Call:
    label = await town.admin.get(f"/api/v1/cylinders/{side.cylinder}/label")
    return Call("POST", "/desk/cylinders/scan", {"files": {"image": ("label.png", label.content, "image/png")}},
                page=True)


@probe("POST", "/desk/findings/{finding_id}/{action}")
async def _desk_rectify(town: Town, side: Side) -> Call:
    return Call("POST", f"/desk/findings/{await town.finding(side)}/rectify",
                {"data": {"note": "已整改", "event_id": f.eid()}}, page=True)


# --- the tests -----------------------------------------------------------------------------------
def flat_routes(app: FastAPI) -> list[tuple[str, set[str], bool]]:
    """(path, methods, in the schema) of every route, through included routers (which FastAPI 0.16x keeps
    as routers of their own)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into the app's own list
        return [(r.path, set(r.methods or ()), getattr(r, "include_in_schema", True))
                for r in app.routes if isinstance(r, Route)]
    return [(str(c.path), set(c.methods or ()), getattr(c.original_route, "include_in_schema", True))
            for c in iter_route_contexts(app.routes) if c.path is not None]


def app_routes() -> set[tuple[str, str]]:
    """Every (method, path) the service answers: the OpenAPI operations and the routes kept out of it."""
    app = create_app()
    found = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    for path, methods, in_schema in flat_routes(app):
        if path not in DOCS and not in_schema:
            found |= {(m, path) for m in methods if m != "HEAD"}
    return found


def test_every_route_has_a_row() -> None:
    routes = app_routes()
    assert sorted(routes - MATRIX.keys()) == [], "routes without a row in MATRIX_TEXT: add one"
    assert sorted(MATRIX.keys() - routes) == [], "rows for routes that no longer exist"
    assert sorted(routes - PROBES.keys()) == [], "routes without a probe: add one"


@pytest.fixture
async def town(client: httpx.AsyncClient, clock: Clock) -> Town:
    await two_companies(client)
    t = Town(client, clock)
    for n in ("1", "2"):
        side = Side(n)
        state = await f.ok(await client.post("/api/v1/cylinders", json={
            "event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2023-05-01",
            "owner": {"company_id": side.company}, "occurred_at": "2023-09-01T09:00:00+08:00"}), 201)
        side.cylinder, side.epc = state["code"], state["epc"]
        await f.ok(await client.post("/api/v1/valves", json={"valve_id": f"V{n}", "company_id": side.company,
                                                             "secret": "ef" * 32}), 201)
        side.finding = await t.finding(side)
        t.sides["own" if n == "1" else "other"] = side
    t.report_id = (await f.ok(await client.post("/api/v1/reports", json={"kind": "other", "description": "x"})))[
        "report_id"]
    first = await f.ok(await client.post("/api/v1/checkpoints"), 201)  # checkpoint 1 holds both cylinders
    assert first["sequence"] == 1, first
    return t


async def tokens(client: httpx.AsyncClient) -> dict[str, str]:
    async def raw(role: str, **scope: str) -> str:
        return (await f.token(client, role, **scope))["Authorization"].removeprefix("Bearer ")

    return {
        "admin": str(client.headers["Authorization"]).removeprefix("Bearer "),
        "regulator": await raw("regulator"),
        "company_admin": await raw("company_admin", company_id="C1"),
        "station_operator": await raw("station_operator", company_id="C1", station_id="S1"),
        "delivery_worker": await raw("delivery_worker", company_id="C1", staff_id="D1"),
        "inspector": await raw("inspector", agency_id="A1"),
    }


def cases() -> Iterator[tuple[str, str, str | None, str]]:
    for (method, path) in sorted(MATRIX):
        for role in ROLES:
            for scope in ("own", "other"):
                yield method, path, role, scope
        yield method, path, None, "own"


class Sender:
    """Sends a probe's call as a role: with its bearer token, or, for a page, in its signed-in session."""

    def __init__(self, client: httpx.AsyncClient, services: Services, raw_tokens: dict[str, str]) -> None:
        self.client = client
        self.services = services
        self.tokens = raw_tokens
        self.desks: dict[str | None, Desk] = {}

    async def desk(self, role: str | None) -> Desk:
        if role not in self.desks:
            c = browser(self.services)
            if role is not None:
                assert (await sign_in(c, self.tokens[role])).status_code == 303, role
            page = await c.get("/")
            self.desks[role] = Desk(c, form_token(page.text) if role is not None else "no-session")
        return self.desks[role]

    async def send(self, call: Call, role: str | None) -> httpx.Response:
        token = self.tokens[role] if role else None
        if call.send is not None:
            async with browser(self.services) as fresh:
                return await call.send(fresh, token)
        if call.page:
            desk = await self.desk(role)
            kwargs = dict(call.kwargs)
            if call.method == "POST":
                kwargs["data"] = {"csrf": desk.csrf, **kwargs.get("data", {})}
            return await desk.client.request(call.method, call.url, **kwargs)
        headers = {"Authorization": f"Bearer {token}" if token else ""}
        return await self.client.request(call.method, call.url, headers=headers, **call.kwargs)

    async def close(self) -> None:
        for desk in self.desks.values():
            await desk.client.aclose()


async def test_each_role_gets_the_status_its_row_says(client: httpx.AsyncClient, services: Services,
                                                      town: Town) -> None:
    sender = Sender(client, services, await tokens(client))
    wrong: list[str] = []
    try:
        for method, path, role, scope in cases():
            row = MATRIX[(method, path)]
            call = await PROBES[(method, path)](town, town.sides[scope])
            response = await sender.send(call, role)
            expected = row.anonymous if role is None else row.by_role[role][scope == "other"]
            if response.status_code != expected:
                wrong.append(f"{method} {path} as {role or 'anonymous'} ({scope}): {response.status_code}, "
                             f"expected {expected}: {response.text[:160]}")
    finally:
        await sender.close()
    assert wrong == []

def with_nul_at(value: Any, path: tuple[Any, ...]) -> Any:
    """``value`` with a NUL character added to the string at ``path``."""
    if not path:
        return value + "\x00"
    head, *rest = path
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[head] = with_nul_at(value[head], tuple(rest))
    return copy


def string_paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield at
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_paths(item, (*at, index))


async def test_a_nul_character_anywhere_is_a_422(client: httpx.AsyncClient, services: Services, town: Town) -> None:
    """Every string of every probe's body or form, every path segment and query value, with a NUL added:
    a 422 on PostgreSQL (which keeps no NUL in text), never a 500. Sent as the admin (pages: signed in)."""
    sender = Sender(client, services, await tokens(client))
    wrong: list[str] = []
    sent = 0
    try:
        for (method, path), make in sorted(PROBES.items()):
            call = await make(town, town.sides["own"])
            if call.send is not None:
                continue
            variants: list[tuple[str, Call]] = []
            for part in ("json", "data"):
                for where in string_paths(call.kwargs.get(part)):
                    mutated = {**call.kwargs, part: with_nul_at(call.kwargs[part], where)}
                    variants.append((".".join(map(str, where)), replace(call, kwargs=mutated)))
            base, _, query = call.url.partition("?")
            segments = base.split("/")
            for index, template in enumerate(path.split("/")):
                if template.startswith("{"):
                    url = "/".join([*segments[:index], "%00", *segments[index + 1:]]) + (f"?{query}" if query else "")
                    variants.append((template, replace(call, url=url)))
            if query:
                variants.append(("query", replace(call, url=f"{base}?{query}%00")))
            for where, variant in variants:
                sent += 1
                response = await sender.send(variant, "admin")
                if response.status_code != 422:
                    wrong.append(f"{method} {path} with NUL in {where}: {response.status_code} {response.text[:120]}")
    finally:
        await sender.close()
    assert wrong == []
    assert sent > 100
