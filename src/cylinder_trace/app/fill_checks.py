"""Registry facts for the rules; the fill pre-check (``POST /api/v1/fill-checks``) and the in-home
safety check (``POST /api/v1/safety-checks``).

The fill check only tells: it stores nothing, except evidence that a cylinder must not be on the market
at all — a scrapped cylinder seen again (``SCRAPPED_CYLINDER_REAPPEARED``) or a code nobody registered
(``FILL_UNKNOWN_CODE``, a black cylinder) — which opens findings.

When the check allows the fill and the cylinder has a smart valve, an ``authorize_fill`` is issued
through the :class:`IssueFillAuthorization` hook (``Services.fill_authorizer``) — the valve side
implements it (it stores the authorization and has the command published). Without a hook configured
no authorization is returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from ..domain import decide
from ..domain.codes import InvalidCode, parse_grai
from ..domain.commands import CheckFill, RecordSafetyCheck
from ..domain.cylinder import CylinderState
from ..domain.rules import catalogue as rules
from ..domain.rules.delivery import DeliveryContext, hazards_found
from ..domain.rules.facts import (
    CompanyFacts,
    CustomerFacts,
    HazardFacts,
    StaffFacts,
    StationFacts,
    VehicleFacts,
)
from ..domain.rules.fill import FillContext
from ..store.tables import cylinders, findings
from .errors import InvalidInput
from .policies import rule_day
from .principals import Principal
from .registries import require_entry
from .unit_of_work import Needs, Outcome, Tx
from .work_scope import require_of_company


# --- the authorization hook ---------------------------------------------------------------------
class FillAuthorization(Protocol):
    def to_json(self) -> dict[str, Any]:
        """At least ``{auth_id, expires}`` (API.md, fill checks)."""
        ...


class IssueFillAuthorization(Protocol):
    """Issue one ``authorize_fill`` for the cylinder's smart valve at a station, inside the check's
    transaction (the valve's limits come from the policy: ``fill_authorization_minutes``, the model's
    maximum fill). None when the cylinder has no usable valve."""

    async def __call__(self, tx: Tx, state: CylinderState, station_id: str, *,
                       actor: str) -> FillAuthorization | None: ...


# --- facts --------------------------------------------------------------------------------------
async def fill_context(tx: Tx, station: Mapping[str, Any], filler: Mapping[str, Any] | None, at: datetime,
                       net_mass_kg: float | None = None, checks: Mapping[str, bool] | None = None) -> FillContext:
    today, policy = rule_day(tx, at)
    company = await require_entry(tx, "company", str(station["company_id"]), "station_id")
    return FillContext(
        today=today, policy=policy, station=StationFacts.from_entry(station),
        company=CompanyFacts.from_entry(company), filler=StaffFacts.from_entry(filler) if filler else None,
        net_mass_kg=net_mass_kg, checks=dict(checks) if checks is not None else None,
    )


async def held_models(tx: Tx, customer_id: str, company_id: str, excluding: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Models of the cylinders at a customer's premises now (owned by or served from the company)."""
    rows = (await tx.conn.execute(sa.select(cylinders.c.code, cylinders.c.state).where(
        cylinders.c.status == "at_customer", cylinders.c.company_id == company_id))).all()
    staged = tx.staged_states()
    held = {str(r.code): str(r.state["model"]) for r in rows
            if r.state.get("customer_id") == customer_id and r.code not in staged}
    held.update({code: s.model for code, s in staged.items()
                 if s is not None and s.status == "at_customer" and s.company_id == company_id
                 and s.customer_id == customer_id})
    return tuple(model for code, model in sorted(held.items()) if code not in excluding)


async def hazard_facts(tx: Tx, customer_id: str) -> tuple[HazardFacts, ...]:
    rows = (await tx.conn.execute(sa.select(findings.c.id, findings.c.status, findings.c.due_on,
                                            findings.c.refused).where(
        findings.c.rule == rules.HAZARD_FOUND.code, findings.c.subject == rules.subject("customer", customer_id),
        findings.c.status != "closed"))).all()
    return tuple(HazardFacts(r.id, r.status, r.due_on, bool(r.refused)) for r in rows)


async def delivery_context(tx: Tx, customer: Mapping[str, Any], at: datetime, *,
                           worker: Mapping[str, Any] | None = None, vehicle: Mapping[str, Any] | None = None,
                           safety_check: Mapping[str, Any] | None = None,
                           excluding: tuple[str, ...] = ()) -> DeliveryContext:
    today, policy = rule_day(tx, at)
    facts = CustomerFacts.from_entry(customer)
    return DeliveryContext(
        today=today, policy=policy, customer=facts,
        worker=StaffFacts.from_entry(worker) if worker else None,
        vehicle=VehicleFacts.from_entry(vehicle) if vehicle else None,
        held_models=await held_models(tx, facts.id, facts.company_id, excluding),
        hazards=await hazard_facts(tx, facts.id), safety_check=safety_check,
    )


# --- the fill check -----------------------------------------------------------------------------
def fill_check_needs(req: CheckFill) -> Needs:
    try:
        codes: tuple[str, ...] = (parse_grai(req.code).code,)
    except InvalidCode:
        codes = ()
    filler = (("staff", req.filler_id),) if req.filler_id else ()
    return Needs(codes=codes, entries=(("station", req.station_id), *filler))


async def check_fill(tx: Tx, req: CheckFill, principal: Principal,
                     authorizer: IssueFillAuthorization | None = None) -> dict[str, Any]:
    principal.require("admin", "company_admin", "station_operator")
    station = await require_entry(tx, "station", req.station_id, "station_id")
    principal.require_company(str(station["company_id"]))
    principal.require_station(req.station_id)
    filler = await require_entry(tx, "staff", req.filler_id, "filler_id") if req.filler_id else None
    require_of_company(filler, str(station["company_id"]), "filler_id", "the filler")
    try:
        code = parse_grai(req.code).code
    except InvalidCode as exc:
        raise InvalidInput("code", exc.reason) from None
    state = await tx.load_cylinder(code)
    ctx = await fill_context(tx, station, filler, tx.now)
    decision = decide.fill_check(state, replace(req, code=code), ctx, tx.now)
    found = decision.violations
    body: dict[str, Any] = {
        "code": code,
        "allowed": not decision.refused,
        "violations": [v.to_json() for v in found if v.severity == "block"],
        "warnings": [v.to_json() for v in found if v.severity != "block"],
    }
    if decision.events:
        recorded = await tx.record(decision.events, event_id=str(uuid.uuid4()), actor=principal.actor)
        body["evidence_event_id"] = recorded[0].event_id
    if body["allowed"] and state is not None and state.smart_valve_id and authorizer is not None:
        issued = await authorizer(tx, state, req.station_id, actor=principal.actor)
        if issued is not None:
            body["authorization"] = issued.to_json()
    return body


# --- the in-home safety check (入户安检) ----------------------------------------------------------
def safety_check_stream(customer_id: str) -> str:
    return f"safety-checks:{customer_id}"


def safety_check_needs(cmd: RecordSafetyCheck) -> Needs:
    return Needs(entries=(("customer", cmd.customer_id), ("staff", cmd.worker_id)),
                 streams=(safety_check_stream(cmd.customer_id),), keys=(f"customer:{cmd.customer_id}",))


async def record_safety_check(tx: Tx, event_id: str, cmd: RecordSafetyCheck, principal: Principal) -> Outcome:
    """Hazards found open a high ``HAZARD_FOUND`` finding on the customer, due in ``hazard_rectify_days``."""
    principal.require("admin", "company_admin", "station_operator", "delivery_worker")
    customer = await require_entry(tx, "customer", cmd.customer_id, "customer_id")
    principal.require_company(str(customer["company_id"]))
    worker = await require_entry(tx, "staff", cmd.worker_id, "worker_id")
    require_of_company(worker, str(customer["company_id"]), "worker_id", "the worker")
    day, policy = rule_day(tx, cmd.occurred_at)
    found = hazards_found(CustomerFacts.from_entry(customer), cmd.hazards, day, policy)
    stream = safety_check_stream(cmd.customer_id)
    await tx.load_stream(stream)
    recorded = await tx.record(decide.safety_check(cmd, stream, found).events, event_id=event_id,
                               actor=principal.actor)
    return Outcome(201, {
        "event_id": recorded[0].event_id, "customer_id": cmd.customer_id, "day": day.isoformat(),
        "hazards": len(cmd.hazards), "warnings": [v.to_json() for v in found],
        "rectify_by": found[0].detail["due_on"] if found else None,
    })
