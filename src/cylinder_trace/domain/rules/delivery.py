"""Delivery (送气) and customer rules (DOMAIN.md, Delivery and customers; seed 二(四), 三(三)3, 五(三)).

Customer and premises rules name the customer (``customer:<id>``) as the subject; staff and vehicle
rules the company; cylinder rules the cylinder. A 产权置换 swap hands the user a company cylinder, so
it runs the customer and cylinder rules too (:data:`SWAP_RULES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..cylinder import CylinderState
from ..policy import Policy
from ..violations import Violation
from . import catalogue as c
from . import fill
from .catalogue import subject
from .facts import CustomerFacts, HazardFacts, StaffFacts, VehicleFacts

#: a hazard kind a safety check records when the customer refuses to rectify (拒不整改): supply stops now
REFUSED_TO_RECTIFY = "refused_to_rectify"


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    today: date
    policy: Policy
    customer: CustomerFacts
    #: None for a swap, which names no worker
    worker: StaffFacts | None = None
    vehicle: VehicleFacts | None = None
    #: models of the cylinders already at the customer (not counting the one delivered)
    held_models: tuple[str, ...] = ()
    #: the customer's unclosed hazard findings
    hazards: tuple[HazardFacts, ...] = ()
    #: the in-home safety check done with the delivery, as sent
    safety_check: Mapping[str, Any] | None = None


DeliveryRule = Callable[[CylinderState, DeliveryContext], list[Violation]]


def _cust(ctx: DeliveryContext) -> tuple[str, str]:
    return subject("customer", ctx.customer.id), ctx.customer.company_id


def _company(ctx: DeliveryContext) -> tuple[str, str]:
    return subject("company", ctx.customer.company_id), ctx.customer.company_id


# --- customer and premises ----------------------------------------------------------------------
def no_real_name(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    missing = ctx.customer.missing_real_name()
    if missing:
        return [c.DELIVERY_NO_REAL_NAME.at(*_cust(ctx), missing=", ".join(missing))]
    return []


def no_contract(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    if not ctx.customer.residential and not ctx.customer.contract_no:
        return [c.DELIVERY_NO_CONTRACT.at(*_cust(ctx))]
    return []


def supply_suspended(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    stopping = [h.finding_id for h in ctx.hazards if h.suspends_supply_on(ctx.today)]
    if stopping:
        return [c.DELIVERY_SUPPLY_SUSPENDED.at(*_cust(ctx), findings=stopping)]
    return []


def no_gas_alarm(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    if not ctx.customer.residential and not ctx.customer.premises.gas_alarm:
        return [c.DELIVERY_NO_GAS_ALARM.at(*_cust(ctx))]
    return []


def no_emergency_shutoff(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    """燃气紧急切断阀 (二(四)2): non-residential premises must have a gas emergency shut-off valve."""
    if not ctx.customer.residential and not ctx.customer.premises.emergency_shutoff:
        return [c.DELIVERY_NO_EMERGENCY_SHUTOFF.at(*_cust(ctx))]
    return []


def underground(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    if not ctx.customer.residential and ctx.customer.premises.underground:
        return [c.DELIVERY_UNDERGROUND.at(*_cust(ctx))]
    return []


def storage_over_limit(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    """Sum of the max fill of every cylinder there, this one included, against the limit (100 kg)."""
    if ctx.customer.residential or ctx.customer.premises.cylinder_room:
        return []
    total = sum(ctx.policy.model(m).max_fill_kg for m in (*ctx.held_models, state.model))
    total = round(total, 3)
    if total > ctx.policy.storage_limit_kg:
        return [c.DELIVERY_STORAGE_OVER_100KG.at(*_cust(ctx), total_kg=total,
                                                 limit_kg=ctx.policy.storage_limit_kg)]
    return []


# --- staff and vehicles -------------------------------------------------------------------------
def self_pickup(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    """Handed over by someone who is not a delivery worker (a station's counter): 禁止自提."""
    if ctx.worker is not None and ctx.worker.kind != "delivery_worker":
        return [c.DELIVERY_SELF_PICKUP.at(*_company(ctx), staff_id=ctx.worker.id)]
    return []


def worker_uncertified(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    w = ctx.worker
    if w is None or w.kind != "delivery_worker":
        return []
    reason: tuple[str, str] | None = None
    if w.company_id != ctx.customer.company_id:
        reason = (f"属于企业 {w.company_id}", f"employed by company {w.company_id}")
    elif not w.certified_on(ctx.today):
        until = w.certificate_valid_until.isoformat() if w.certificate_valid_until else "—"
        reason = (f"证书有效期至 {until}", f"certificate valid until {until}")
    if reason is None:
        return []
    return [c.DELIVERY_WORKER_UNCERTIFIED.at(*_company(ctx), staff_id=w.id, reason_zh=reason[0],
                                             reason_en=reason[1])]


def vehicle_unpermitted(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    v = ctx.vehicle
    if v is None:
        return []
    if v.permitted_on(ctx.today) and v.company_id == ctx.customer.company_id:
        return []
    until = v.permit_valid_until.isoformat() if v.permit_valid_until else "—"
    return [c.DELIVERY_VEHICLE_UNPERMITTED.at(*_company(ctx), plate=v.plate, valid_until=until,
                                              vehicle_company_id=v.company_id)]


# --- the cylinder -------------------------------------------------------------------------------
def dual_phase(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    """A dual-phase cylinder: a YSP118-II an agency has not converted to single phase by a passing inspection
    (the conversion sets the valve phase to single)."""
    if state.valve_phase == "dual":
        return [c.DELIVERY_DUAL_PHASE.at(subject("cylinder", state.code), state.company_id,
                                         model=state.model)]
    return []


#: the fill state rules a delivery re-checks: all but dual phase (it has its own delivery rule) and
#: a scrapped one reappearing (``scrapped`` already names it)
_NOT_FILLABLE_RULES: tuple[fill.StateRule, ...] = tuple(
    r for r in fill.STATE_RULES if r not in (fill.dual_phase_valve, fill.scrapped_reappeared))


def not_fillable(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    broken = fill.state_violations(state, fill.StateContext(ctx.today, ctx.policy), _NOT_FILLABLE_RULES)
    if not broken:
        return []
    codes = [v.rule for v in broken]
    return [c.DELIVERY_NOT_FILLABLE.at(subject("cylinder", state.code), state.company_id,
                                       fill_rules=", ".join(codes), broken=codes)]


def reappeared(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    return fill.scrapped_reappeared(state, fill.StateContext(ctx.today, ctx.policy))


# --- the in-home safety check (送气一次、安检一次、宣传一次) ---------------------------------------------
def safety_check_missing(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    if not ctx.customer.residential:
        return []
    check = ctx.safety_check or {}
    if check.get("performed") and check.get("notice_given"):
        return []
    return [c.SAFETY_CHECK_MISSING.at(*_cust(ctx))]


def hazards_found(customer: CustomerFacts, hazards: Sequence[Mapping[str, Any]], today: date,
                  policy: Policy) -> list[Violation]:
    """A safety check that recorded hazards: the customer must rectify within the policy's days (the finding
    keeps this due date, ``rectify_by``, not the ledger's ``rectification_days``)."""
    if not hazards:
        return []
    kinds = sorted({str(h.get("kind")) for h in hazards})
    due = today + timedelta(days=policy.hazard_rectify_days)
    refused = REFUSED_TO_RECTIFY in kinds
    return [c.HAZARD_FOUND.at(subject("customer", customer.id), customer.company_id, kinds=", ".join(kinds),
                              due_on=due.isoformat(), rectify_by=due.isoformat(), refused=refused,
                              hazards=[dict(h) for h in hazards])]


def delivery_hazards(state: CylinderState, ctx: DeliveryContext) -> list[Violation]:
    check = ctx.safety_check or {}
    if not check.get("performed"):
        return []
    return hazards_found(ctx.customer, check.get("hazards") or [], ctx.today, ctx.policy)


CUSTOMER_RULES: tuple[DeliveryRule, ...] = (
    no_real_name, no_contract, supply_suspended, no_gas_alarm, no_emergency_shutoff, underground, storage_over_limit,
)
CYLINDER_RULES: tuple[DeliveryRule, ...] = (dual_phase, not_fillable, reappeared)
DELIVERY_RULES: tuple[DeliveryRule, ...] = (
    *CUSTOMER_RULES, worker_uncertified, vehicle_unpermitted, self_pickup, *CYLINDER_RULES,
    safety_check_missing, delivery_hazards,
)
SWAP_RULES: tuple[DeliveryRule, ...] = (*CUSTOMER_RULES, *CYLINDER_RULES)


def delivery_violations(state: CylinderState, ctx: DeliveryContext,
                        rules: Sequence[DeliveryRule] = DELIVERY_RULES) -> list[Violation]:
    return [v for rule in rules for v in rule(state, ctx)]


def delivery_check(ctx: DeliveryContext,
                   rules: Sequence[DeliveryRule] = DELIVERY_RULES) -> Callable[[CylinderState | None, Any],
                                                                              list[Violation]]:
    def check(state: CylinderState | None, cmd: Any) -> list[Violation]:
        return [] if state is None else delivery_violations(state, ctx, rules)

    return check
