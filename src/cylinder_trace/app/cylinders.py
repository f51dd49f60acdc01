"""Cylinder commands: register, fill, deliver, collect, inspect, fit a valve, seize, scrap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ..domain import decide
from ..domain.codes import ASSET_TYPE_BY_MODEL, Grai, InvalidCode, make_grai, parse_grai
from ..domain.commands import (
    FitValve,
    RecordCollection,
    RecordDelivery,
    RecordFill,
    RecordInspection,
    RegisterCylinder,
    ScrapCylinder,
    SeizeCylinder,
)
from ..domain.cylinder import CylinderState, state_to_json
from ..domain.decide import Decision
from ..domain.policy import UnknownModel
from ..domain.rules import delivery as delivery_rules
from ..domain.rules import fill as fill_rules
from ..domain.rules import inspections as inspection_rules
from ..domain.rules import subsidies
from ..domain.rules.facts import AgencyFacts
from ..store.event_store import RecordedEvent
from ..store.tables import cylinders, subsidy_lines
from . import fill_checks, work_scope
from .batch import EntryLookup
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .policies import day_of, rule_day
from .principals import Principal
from .registries import require_entry
from .unit_of_work import Needs, Outcome, Tx


@dataclass(frozen=True, slots=True)
class CodeSettings:
    public_base_url: str
    jurisdiction_prefix: str


def cylinder_view(state: CylinderState, codes: CodeSettings, open_findings: int = 0) -> dict[str, Any]:
    grai = parse_grai(state.code)
    return {
        **state_to_json(state),
        "epc": grai.epc_uri(state.prefix_length),
        "digital_link": grai.digital_link(codes.public_base_url),
        "open_findings": open_findings,
    }


def parse_code(code: str, field: str = "code") -> str:
    try:
        return parse_grai(code).code
    except InvalidCode as exc:
        raise InvalidInput(field, exc.reason) from None


def named_codes(*codes: str | None) -> tuple[str, ...]:
    """The well-formed codes among ``codes``, normalized (a malformed one is the handler's to refuse)."""
    named: list[str] = []
    for code in codes:
        if code is None:
            continue
        try:
            named.append(parse_grai(code).code)
        except InvalidCode:
            continue
    return tuple(named)


# --- what each command reads and changes, for the batch it is stored with (``app/batch.py``) ---------
def registration_needs(company_id: str | None, customer_id: str | None, code: str | None, *, model: str,
                       serial: str | None, codes: CodeSettings, at_customer_id: str | None = None) -> Needs:
    entries: list[tuple[str, str]] = []
    if company_id:
        entries.append(("company", company_id))
    if customer_id:
        entries.append(("customer", customer_id))
    if at_customer_id:
        entries.append(("customer", at_customer_id))

    def generated(entry: EntryLookup) -> tuple[str, ...]:
        """The code a serial makes under the owner's prefix (as :func:`register_cylinder` makes it)."""
        if code is not None or serial is None:
            return ()
        company = entry("company", company_id) if company_id else None
        if customer_id is None and company is None:
            return ()
        prefix = codes.jurisdiction_prefix if customer_id else company_code_prefix(company or {}, codes)
        try:
            return (generated_grai(prefix, asset_type_for(model, prefix), serial).code,)
        except InvalidInput:
            return ()

    return Needs(codes=named_codes(code), entries=tuple(entries), derived_codes=generated)


def fill_needs(cmd: RecordFill) -> Needs:
    return Needs(codes=named_codes(cmd.code), entries=(("station", cmd.station_id), ("staff", cmd.filler_id)))


def delivery_needs(cmd: RecordDelivery) -> Needs:
    vehicle = (("vehicle", cmd.vehicle_plate),) if cmd.vehicle_plate else ()
    return Needs(codes=named_codes(cmd.code), entries=(("customer", cmd.customer_id), ("staff", cmd.worker_id),
                                                       *vehicle), keys=(f"customer:{cmd.customer_id}",))


def collection_needs(cmd: RecordCollection) -> Needs:
    return Needs(codes=named_codes(cmd.code), entries=(("customer", cmd.customer_id), ("staff", cmd.worker_id)),
                 keys=(f"customer:{cmd.customer_id}",))


def inspection_needs(cmd: RecordInspection) -> Needs:
    return Needs(codes=named_codes(cmd.code), entries=(("agency", cmd.agency_id),))


def valve_fitting_needs(cmd: FitValve) -> Needs:
    return Needs(codes=(cmd.code,), entries=(("valve", cmd.valve_id),), keys=(f"valve:{cmd.valve_id}",))


def cylinder_needs(code: str, *entries: tuple[str, str]) -> Needs:
    """A command about one cylinder (seize, scrap) that reads ``entries``."""
    return Needs(codes=(code,), entries=entries)


@dataclass(frozen=True, slots=True)
class Registration:
    event_id: str
    model: str
    serial: str | None
    manufacturer_code: str
    manufactured_on: date
    owner_company_id: str | None
    owner_customer_id: str | None
    last_inspected_on: date | None
    tare_kg: float | None
    code: str | None
    occurred_at: datetime
    #: a company cylinder that sits at this customer's premises now (a census found it there)
    at_customer_id: str | None = None
    #: the day the cylinder became the owner's (default: the registration day; the existing fleet's: manufacture)
    in_service_since: date | None = None
    #: part of the existing fleet (a census), not newly acquired
    existing_fleet: bool = False


def company_code_prefix(company: Mapping[str, Any], codes: CodeSettings) -> str:
    """The GS1 prefix of a company's codes: its own, or the jurisdiction's (also that of customer-owned
    cylinders)."""
    return str(company.get("gs1_company_prefix") or codes.jurisdiction_prefix)


def asset_type_for(model: str, prefix: str) -> int:
    """The GRAI asset type a generated code of ``model`` gets under ``prefix``."""
    asset_type = ASSET_TYPE_BY_MODEL.get(model)
    if asset_type is None:
        raise InvalidInput("code", f"no asset type is assigned to model {model}: give the code")
    if len(str(asset_type)) > 12 - len(prefix):
        raise InvalidInput("code", f"the GS1 prefix {prefix} leaves no digits for the asset type: give the code")
    return asset_type


def generated_grai(prefix: str, asset_type: int, serial: str) -> Grai:
    try:
        return make_grai(prefix, asset_type, serial)
    except ValueError as exc:
        raise InvalidInput("serial", str(exc)) from None


async def register_cylinder(
    tx: Tx, reg: Registration, principal: Principal, codes: CodeSettings, *, source: str = "api",
    with_state: bool = True,
) -> Outcome:
    """Register a cylinder. ``with_state`` False: the answer carries the code, not the whole state (a
    census imports thousands; their answers are kept in the command log)."""
    if (reg.owner_company_id is None) == (reg.owner_customer_id is None):
        raise InvalidInput("owner", "give exactly one of company_id or customer_id")
    day, policy = rule_day(tx, reg.occurred_at)
    try:
        policy.model(reg.model)
    except UnknownModel as exc:
        raise InvalidInput("model", str(exc)) from None
    if reg.manufactured_on > tx.today():
        raise InvalidInput("manufactured_on", "lies in the future")
    day_of(tx, reg.occurred_at, made_on=reg.manufactured_on)  # registered once it was made
    if reg.last_inspected_on is not None and not reg.manufactured_on <= reg.last_inspected_on <= tx.today():
        raise InvalidInput("last_inspected_on", "must lie between manufacture and today")
    latest = min(day, tx.today())
    if reg.in_service_since is not None and not reg.manufactured_on <= reg.in_service_since <= latest:
        raise InvalidInput("in_service_since", "must lie between manufacture and the registration day, not in the "
                           f"future ({reg.manufactured_on.isoformat()} to {latest.isoformat()})")
    serving_company: str | None
    if reg.owner_customer_id is not None:
        customer = await require_entry(tx, "customer", reg.owner_customer_id, "owner.customer_id")
        serving_company = customer["company_id"]
        prefix = codes.jurisdiction_prefix
    else:
        assert reg.owner_company_id is not None
        company = await require_entry(tx, "company", reg.owner_company_id, "owner.company_id")
        serving_company = None
        prefix = company_code_prefix(company, codes)
    principal.require("admin", "regulator", "company_admin", "station_operator")
    principal.require_company(reg.owner_company_id or serving_company)
    if reg.at_customer_id is not None and reg.at_customer_id != reg.owner_customer_id:
        if reg.owner_customer_id is not None:
            raise InvalidInput("at_customer_id", "a customer's own cylinder is registered at that customer")
        held_by = await require_entry(tx, "customer", reg.at_customer_id, "at_customer_id")
        if held_by["company_id"] != reg.owner_company_id:
            raise InvalidInput("at_customer_id", f"customer {reg.at_customer_id} is served by company "
                               f"{held_by['company_id']}, not by the owner {reg.owner_company_id}")
    if reg.code is not None:
        code = parse_code(reg.code)
        grai = parse_grai(code)
        prefix_length = len(prefix) if grai.head[1:].startswith(prefix) else 7
        if reg.serial is not None and reg.serial != grai.serial:
            raise InvalidInput("serial", f"does not match the code's serial {grai.serial!r}")
    else:
        asset_type = asset_type_for(reg.model, prefix)
        grai = generated_grai(prefix, asset_type, reg.serial or await tx.next_serial(prefix, asset_type))
        code, prefix_length = grai.code, len(prefix)
    if await tx.load_cylinder(code) is not None:
        raise Conflict(f"code {code} is already registered")
    cmd = RegisterCylinder(
        code=code, prefix_length=prefix_length, serial=grai.serial, model=reg.model,
        manufacturer_code=reg.manufacturer_code, manufactured_on=reg.manufactured_on,
        owner_company_id=reg.owner_company_id, owner_customer_id=reg.owner_customer_id,
        last_inspected_on=reg.last_inspected_on, tare_kg=reg.tare_kg, occurred_at=reg.occurred_at,
        serving_company_id=serving_company,
        at_customer_id=reg.at_customer_id if reg.owner_customer_id is None else None,
        in_service_since=reg.in_service_since, existing_fleet=reg.existing_fleet,
    )
    decision = decide.register(cmd, policy, day)
    return await _record(tx, decision, reg.event_id, principal, codes, 201, source=source, with_state=with_state)


def refusal_outcome(decision: Decision, recorded: Sequence[RecordedEvent]) -> Outcome:
    """The 422 of a command the rules refused, naming its refusal event (the evidence)."""
    return Outcome(422, {
        "detail": "refused by rules",
        "refusal_event_id": recorded[0].event_id if recorded else None,
        "violations": [v.to_json() for v in decision.violations if v.severity == "block"],
        "warnings": [v.to_json() for v in decision.violations if v.severity != "block"],
    })


async def _record(
    tx: Tx, decision: Decision, event_id: str, principal: Principal, codes: CodeSettings, status: int = 201,
    source: str = "api", with_state: bool = True,
) -> Outcome:
    recorded = await tx.record(decision.events, event_id=event_id, actor=principal.actor, source=source)
    if decision.refused:
        return refusal_outcome(decision, recorded)
    code = recorded[0].stream_id.removeprefix("cylinder:")
    state = await tx.load_cylinder(code)
    assert state is not None
    body: dict[str, Any] = cylinder_view(state, codes) if with_state else {"code": code}
    body["event_ids"] = [e.event_id for e in recorded]
    body["warnings"] = [v.to_json() for v in decision.violations]
    return Outcome(status, body)


async def existing_cylinder(tx: Tx, code: str, field: str = "code", at: datetime | None = None) -> CylinderState:
    """The cylinder a command names (``field``: the body field the code came in); 404 when unknown.
    ``at``: the command's event time, checked against the cylinder (not before it was made)."""
    state = await tx.load_cylinder(parse_code(code, field))
    if state is None:
        raise NotFound("cylinder", code)
    if at is not None:
        day_of(tx, at, made_on=state.manufactured_on)
    return state


async def record_fill(tx: Tx, event_id: str, cmd: RecordFill, principal: Principal, codes: CodeSettings) -> Outcome:
    principal.require("admin", "station_operator", "company_admin")
    station = await require_entry(tx, "station", cmd.station_id, "station_id")
    principal.require_company(station["company_id"])
    principal.require_station(cmd.station_id)
    filler = await require_entry(tx, "staff", cmd.filler_id, "filler_id")
    work_scope.require_of_company(filler, str(station["company_id"]), "filler_id", "the filler")
    state = await tx.load_cylinder(parse_code(cmd.code))
    if state is not None:
        day_of(tx, cmd.occurred_at, made_on=state.manufactured_on)
    ctx = await fill_checks.fill_context(tx, station, filler, cmd.occurred_at, cmd.net_mass_kg, cmd.checks)
    return await _record(tx, decide.fill(state, cmd, [fill_rules.fill_check(ctx)]), event_id, principal, codes)


async def record_delivery(
    tx: Tx, event_id: str, cmd: RecordDelivery, principal: Principal, codes: CodeSettings
) -> Outcome:
    principal.require("admin", "delivery_worker", "company_admin", "station_operator")
    customer = await require_entry(tx, "customer", cmd.customer_id, "customer_id")
    company_id = str(customer["company_id"])
    principal.require_company(company_id)
    worker = await require_entry(tx, "staff", cmd.worker_id, "worker_id")
    work_scope.require_of_company(worker, company_id, "worker_id", "the worker")
    vehicle = None
    if cmd.vehicle_plate is not None:
        vehicle = await require_entry(tx, "vehicle", cmd.vehicle_plate, "vehicle_plate")
        work_scope.require_of_company(vehicle, company_id, "vehicle_plate", "the vehicle")
    state = await existing_cylinder(tx, cmd.code, at=cmd.occurred_at)
    work_scope.require_cylinder_of(principal, state, company_id)
    work_scope.require_owner_receives(state, cmd.customer_id)
    ctx = await fill_checks.delivery_context(tx, customer, cmd.occurred_at, worker=worker, vehicle=vehicle,
                                             safety_check=cmd.safety_check, excluding=(state.code,))
    checks = [delivery_rules.delivery_check(ctx)]
    return await _record(tx, decide.deliver(state, cmd, checks), event_id, principal, codes)


async def record_collection(
    tx: Tx, event_id: str, cmd: RecordCollection, principal: Principal, codes: CodeSettings
) -> Outcome:
    principal.require("admin", "delivery_worker", "company_admin", "station_operator")
    customer = await require_entry(tx, "customer", cmd.customer_id, "customer_id")
    company_id = str(customer["company_id"])
    principal.require_company(company_id)
    worker = await require_entry(tx, "staff", cmd.worker_id, "worker_id")
    work_scope.require_of_company(worker, company_id, "worker_id", "the worker")
    state = await existing_cylinder(tx, cmd.code, at=cmd.occurred_at)
    work_scope.require_cylinder_of(principal, state, company_id)
    work_scope.require_at_customer(state, cmd.customer_id)
    return await _record(tx, decide.collect(state, cmd), event_id, principal, codes)


async def record_inspection(
    tx: Tx, event_id: str, cmd: RecordInspection, principal: Principal, codes: CodeSettings
) -> Outcome:
    principal.require("admin", "inspector")
    agency = AgencyFacts.from_entry(await require_entry(tx, "agency", cmd.agency_id, "agency_id"))
    if principal.role == "inspector" and principal.agency_id != cmd.agency_id:
        raise Forbidden(f"this token records inspections only for agency {principal.agency_id}")
    state = await existing_cylinder(tx, cmd.code, at=cmd.occurred_at)
    day, policy = rule_day(tx, cmd.occurred_at)
    decision = decide.inspect(state, cmd, policy, [inspection_rules.inspection_check(agency, day)], day=day)
    return await _record(tx, decision, event_id, principal, codes)


async def fit_valve(tx: Tx, event_id: str, cmd: FitValve, principal: Principal, codes: CodeSettings) -> Outcome:
    principal.require("admin", "company_admin", "station_operator")
    state = await existing_cylinder(tx, cmd.code, at=cmd.occurred_at)
    valve = await require_entry(tx, "valve", cmd.valve_id, "valve_id")
    principal.require_company(state.company_id)
    if valve["company_id"] != state.company_id:
        raise InvalidInput("valve_id", f"valve belongs to company {valve['company_id']}, not {state.company_id}")
    fitted = (await tx.conn.execute(sa.select(cylinders.c.code).where(
        cylinders.c.smart_valve_id == cmd.valve_id, cylinders.c.code != state.code))).first()
    if fitted is not None:
        raise Conflict(f"valve {cmd.valve_id} is fitted to cylinder {fitted.code}")
    day, policy = rule_day(tx, cmd.occurred_at)
    subsidy = subsidies.smart_valve(state, day, policy, await _smart_valve_subsidies(tx, state.code, cmd.valve_id))
    decision = decide.fit_valve(state, cmd, subsidy=subsidy)
    outcome = await _record(tx, decision, event_id, principal, codes)
    if outcome.status == 201:
        outcome.body["subsidy"] = subsidies.told(decision.events[0].data)
    return outcome


async def _smart_valve_subsidies(tx: Tx, code: str, valve_id: str) -> subsidies.EarnedBefore:
    """The smart-valve subsidies the cylinder and the valve earned before (the ledger's rows). Writes are
    serialized and a batch never holds two fits of one valve or of one cylinder (``valve_fitting_needs``),
    so the rows are complete: a valve cannot earn twice by a race."""
    t = subsidy_lines
    rows = (await tx.conn.execute(sa.select(t.c.event_id, t.c.code, t.c.valve_id).where(
        t.c.kind == "smart_valve", sa.or_(t.c.code == code, t.c.valve_id == valve_id)).order_by(t.c.day))).all()
    return subsidies.EarnedBefore(by_cylinder=tuple(r.event_id for r in rows if r.code == code),
                                  by_valve=tuple(r.event_id for r in rows if r.valve_id == valve_id))


async def seize(tx: Tx, event_id: str, cmd: SeizeCylinder, principal: Principal, codes: CodeSettings) -> Outcome:
    principal.require("admin", "regulator", "inspector")
    state = await existing_cylinder(tx, cmd.code, at=cmd.occurred_at)
    return await _record(tx, decide.seize(state, cmd), event_id, principal, codes)


async def scrap(tx: Tx, event_id: str, cmd: ScrapCylinder, principal: Principal, codes: CodeSettings) -> Outcome:
    principal.require("admin", "regulator", "inspector", "company_admin")
    state = await existing_cylinder(tx, cmd.code, at=cmd.occurred_at)
    company_id = cmd.company_id or principal.company_id
    if company_id is not None:
        await require_entry(tx, "company", company_id, "company_id")
    principal.require_company(company_id)
    if not principal.sees_all_companies and state.company_id != company_id and state.owner.customer_id is None:
        principal.require_company(state.company_id)
    missing = subsidies.missing_hand_in_fields(cmd.handed_in_by)
    if missing:
        raise InvalidInput(f"handed_in_by.{missing[0]}", "the real-name registration (实名登记) needs name, "
                           "id_number, phone and address of the person handing the cylinder in")
    agency_id = cmd.agency_id or principal.agency_id
    if agency_id is not None:
        await require_entry(tx, "agency", agency_id, "agency_id")
    cmd = replace(cmd, company_id=company_id, agency_id=agency_id)
    day, policy = rule_day(tx, cmd.occurred_at)
    decision = decide.scrap(state, cmd, policy, day)
    outcome = await _record(tx, decision, event_id, principal, codes)
    if outcome.status == 201:
        data = decision.events[0].data
        outcome.body.update(recycling_category=data["recycling_category"], subsidy=subsidies.told(data))
    return outcome
