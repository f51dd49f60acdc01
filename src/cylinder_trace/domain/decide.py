"""Decisions: (state, command, policy, facts, today) → events, or a refusal that is itself an event.

Pure functions. The lifecycle check runs for every action; the rules catalogue adds its checks
through :data:`Checks` (see ``domain/rules``). A refusal lists every broken rule at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import events as ev
from .commands import (
    CheckFill,
    ExecuteSwap,
    FitValve,
    RecordCollection,
    RecordDelivery,
    RecordFill,
    RecordInspection,
    RecordSafetyCheck,
    RefundDeposit,
    RegisterCylinder,
    ScrapCylinder,
    SeizeCylinder,
    command_json,
)
from .cylinder import CylinderState, lifecycle_violation
from .dates import add_years
from .events import NewEvent
from .policy import Policy
from .rules import fill as fill_rules
from .rules import inspections, subsidies
from .rules.catalogue import FILL_UNKNOWN_CODE
from .rules.fill import FillContext
from .violations import Violation, blocking


@dataclass(frozen=True, slots=True)
class Decision:
    """What the core decided: the events to record and every rule that spoke."""

    events: list[NewEvent]
    violations: list[Violation] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(blocking(self.violations))


#: a rule check: gets the state (None for an unknown code) and the command, returns violations
Check = Callable[[CylinderState | None, Any], list[Violation]]
Checks = Sequence[Check]


def _violations_json(violations: Sequence[Violation]) -> list[dict[str, Any]]:
    return [v.to_json() for v in violations]


def _refusal(action: str, stream: str, cmd: Any, violations: list[Violation]) -> Decision:
    data = {"action": action, "command": command_json(cmd), "violations": _violations_json(violations)}
    return Decision([NewEvent(ev.refusal_type(action), data, cmd.occurred_at, stream)], violations)


def assess(action: str, state: CylinderState | None, cmd: Any, checks: Checks = ()) -> list[Violation]:
    """Every rule ``action`` would break now, the lifecycle included. For a well-formed code nobody
    registered (``state`` None): what the checks say of it (naming the station's company), else the bare
    ``FILL_UNKNOWN_CODE``."""
    if state is None:
        found = [v for check in checks for v in check(None, cmd)]
        return found or [FILL_UNKNOWN_CODE.violation(_unknown_subject(cmd), code=cmd.code)]
    lifecycle = lifecycle_violation(state, action)
    return [*([lifecycle] if lifecycle else []), *(v for check in checks for v in check(state, cmd))]


def _judge(
    action: str, state: CylinderState | None, cmd: Any, checks: Checks, accept: Callable[[], list[NewEvent]]
) -> Decision:
    found = assess(action, state, cmd, checks)
    if state is None:
        # a black cylinder: the refusal is evidence against the place it was seen
        return _refusal(action, _unknown_subject(cmd), cmd, found)
    if blocking(found):
        return _refusal(action, ev.cylinder_stream(cmd.code), cmd, found)
    return Decision(_with_violations(accept(), found), found)


def _with_violations(accepted: list[NewEvent], found: Sequence[Violation]) -> list[NewEvent]:
    """The accepted events, the first carrying the non-blocking violations (they open findings)."""
    if not found or not accepted:
        return accepted
    first = accepted[0]
    return [NewEvent(first.type, {**first.data, "violations": _violations_json(found)}, first.occurred_at,
                     first.stream_id), *accepted[1:]]


def _unknown_subject(cmd: Any) -> str:
    station = getattr(cmd, "station_id", None)
    return f"station:{station}" if station else f"code:{cmd.code}"


def fill_check(state: CylinderState | None, cmd: CheckFill, ctx: FillContext, at: datetime) -> Decision:
    """The fill pre-check: every rule a fill would break now; nothing is refused. A sighting that is itself
    evidence (a scrapped cylinder again, a black cylinder) is recorded as ``FillCheckFlagged``."""
    found = assess("fill", state, cmd, [fill_rules.fill_check(ctx)])
    flagged = fill_rules.evidence_on_sight(found)
    if not flagged:
        return Decision([], found)
    stream = ev.cylinder_stream(cmd.code) if state is not None else _unknown_subject(cmd)
    data = {"action": "fill_check", "code": cmd.code, "station_id": cmd.station_id, "filler_id": cmd.filler_id,
            "violations": _violations_json(flagged)}
    return Decision([NewEvent(ev.FILL_CHECK_FLAGGED, data, at, stream)], found)


def _event(event_type: str, cmd: Any, data: dict[str, Any]) -> NewEvent:
    return NewEvent(event_type, data, cmd.occurred_at, ev.cylinder_stream(cmd.code))


def in_service_since(cmd: RegisterCylinder, day: date) -> date:
    """The day the cylinder became its owner's (新进, seed 三(二)4), as given; else the registration day, or
    for the existing fleet a census registers, the day of manufacture: a census does not make the fleet new
    (cylinders made before 2023-09-30 need their smart valve at their first inspection from that day on)."""
    if cmd.in_service_since is not None:
        return cmd.in_service_since
    return cmd.manufactured_on if cmd.existing_fleet else day


def register(cmd: RegisterCylinder, policy: Policy, day: date | None = None) -> Decision:
    """``day``: the local calendar day of ``occurred_at`` in the jurisdiction (default: its own offset's)."""
    spec = policy.model(cmd.model)
    day = day or cmd.occurred_at.date()
    customer_owned = cmd.owner_customer_id is not None
    owner = {"customer_id": cmd.owner_customer_id} if customer_owned else {"company_id": cmd.owner_company_id}
    held_by = cmd.owner_customer_id or cmd.at_customer_id
    at_customer = held_by is not None
    data: dict[str, Any] = {
        "code": cmd.code,
        "prefix_length": cmd.prefix_length,
        "serial": cmd.serial,
        "model": cmd.model,
        "manufacturer_code": cmd.manufacturer_code,
        "manufactured_on": cmd.manufactured_on.isoformat(),
        "tare_kg": cmd.tare_kg,
        "water_capacity_l": spec.water_l,
        "owner": owner,
        "status": "at_customer" if at_customer else "empty_in_stock",
        "holder": (
            {"kind": "customer", "id": held_by}
            if at_customer
            else {"kind": "company", "id": cmd.owner_company_id}
        ),
        "valve_phase": "dual" if spec.dual_phase else "single",
        "registered_on": day.isoformat(),
        "in_service_since": in_service_since(cmd, day).isoformat(),
        "last_inspected_on": cmd.last_inspected_on.isoformat() if cmd.last_inspected_on else None,
        "next_inspection_due": policy.next_inspection_due(cmd.manufactured_on, cmd.last_inspected_on).isoformat(),
        "life_expires_on": policy.life_expires_on(cmd.manufactured_on).isoformat(),
        "serving_company_id": cmd.serving_company_id,
    }
    if cmd.at_customer_id is not None and not customer_owned:
        data["at_customer_id"] = cmd.at_customer_id
    return Decision([_event(ev.CYLINDER_REGISTERED, cmd, data)])


def fill(state: CylinderState | None, cmd: RecordFill, checks: Checks = ()) -> Decision:
    data = {"station_id": cmd.station_id, "filler_id": cmd.filler_id, "net_mass_kg": cmd.net_mass_kg,
            "checks": dict(cmd.checks)}
    return _judge("fill", state, cmd, checks, lambda: [_event(ev.CYLINDER_FILLED, cmd, data)])


def deliver(state: CylinderState | None, cmd: RecordDelivery, checks: Checks = ()) -> Decision:
    data = {"customer_id": cmd.customer_id, "worker_id": cmd.worker_id, "vehicle_plate": cmd.vehicle_plate,
            "safety_check": cmd.safety_check}
    return _judge("deliver", state, cmd, checks, lambda: [_event(ev.CYLINDER_DELIVERED, cmd, data)])


def collect(state: CylinderState | None, cmd: RecordCollection, checks: Checks = ()) -> Decision:
    data = {"customer_id": cmd.customer_id, "worker_id": cmd.worker_id, "residual_kg": cmd.residual_kg}
    return _judge("collect", state, cmd, checks, lambda: [_event(ev.CYLINDER_COLLECTED, cmd, data)])


def inspect(
    state: CylinderState | None, cmd: RecordInspection, policy: Policy, checks: Checks = (), day: date | None = None
) -> Decision:
    def accept() -> list[NewEvent]:
        assert state is not None
        inspected_on = day or cmd.occurred_at.date()
        passed = cmd.result == "pass"
        next_due = (policy.next_inspection_due(state.manufactured_on, inspected_on) if passed
                    else state.next_inspection_due)
        life = state.life_expires_on
        last_interval = _last_interval_start(state.life_expires_on, policy)
        if passed and policy.life_extension_years and inspected_on >= last_interval:
            life = add_years(policy.life_expires_on(state.manufactured_on), policy.life_extension_years)
        data = {
            "agency_id": cmd.agency_id,
            "result": cmd.result,
            "inspected_on": inspected_on.isoformat(),
            "converted_to_single_phase": bool(cmd.converted_to_single_phase and passed),
            "next_inspection_due": next_due.isoformat(),
            "life_expires_on": life.isoformat(),
        }
        return [_event(ev.CYLINDER_INSPECTED, cmd, data)]

    return _judge("inspect", state, cmd, checks, accept)


def _last_interval_start(life_expires_on: date, policy: Policy) -> date:
    """A passing inspection within the last interval before the end of life may extend it."""
    return add_years(life_expires_on, -policy.inspection_interval_years)


def _with_subsidy(data: dict[str, Any], subsidy: subsidies.Outcome | None) -> dict[str, Any]:
    """An earned subsidy is ``data.subsidy`` (the ledger's row); one withheld says why in ``subsidy_withheld``."""
    if isinstance(subsidy, subsidies.Subsidy):
        return {**data, "subsidy": subsidy.to_json()}
    if isinstance(subsidy, subsidies.Withheld):
        return {**data, "subsidy_withheld": subsidy.to_json()}
    return data


def fit_valve(state: CylinderState | None, cmd: FitValve, checks: Checks = (),
              subsidy: subsidies.Outcome | None = None) -> Decision:
    data = _with_subsidy({"valve_id": cmd.valve_id, "replaced_valve_id": state.smart_valve_id if state else None},
                         subsidy)
    return _judge("fit_valve", state, cmd, checks, lambda: [_event(ev.SMART_VALVE_FITTED, cmd, data)])


def seize(state: CylinderState | None, cmd: SeizeCylinder, checks: Checks = ()) -> Decision:
    data = {"reason": cmd.reason, "previous_status": state.status if state else None}
    return _judge("seize", state, cmd, checks, lambda: [_event(ev.CYLINDER_SEIZED, cmd, data)])


def scrap(state: CylinderState | None, cmd: ScrapCylinder, policy: Policy, day: date, checks: Checks = ()
          ) -> Decision:
    """The scrap records which recycling category applied (or none) and the recycling subsidy it earns,
    or why it earns none; a scrap naming no inspection agency is a finding (``SCRAP_NOT_BY_AGENCY``)."""
    data: dict[str, Any] = {"reason": cmd.reason, "company_id": cmd.company_id, "agency_id": cmd.agency_id,
                            "handed_in_by": cmd.handed_in_by,
                            "recycling_category": subsidies.recycling_category(state, day, policy) if state else None,
                            "previous_status": state.status if state else None,
                            "previous_owner": state.owner.to_json() if state else None}
    if state is not None:
        data = _with_subsidy(data, subsidies.recycling(state, cmd.company_id, cmd.handed_in_by, day, policy))
    checks = [*checks, inspections.scrap_check(cmd.company_id, cmd.agency_id)]
    return _judge("scrap", state, cmd, checks, lambda: [_event(ev.CYLINDER_SCRAPPED, cmd, data)])


def safety_check(cmd: RecordSafetyCheck, stream: str, violations: Sequence[Violation] = ()) -> Decision:
    """An in-home safety check is recorded as it was done; hazards it found travel as violations."""
    data: dict[str, Any] = {"customer_id": cmd.customer_id, "worker_id": cmd.worker_id,
                            "notice_given": cmd.notice_given, "customer_signed": cmd.customer_signed,
                            "hazards": [dict(h) for h in cmd.hazards]}
    if violations:
        data["violations"] = _violations_json(violations)
    return Decision([NewEvent(ev.SAFETY_CHECK_RECORDED, data, cmd.occurred_at, stream)], list(violations))


def swap(old: CylinderState | None, new: CylinderState | None, cmd: ExecuteSwap,
         accept: Callable[[], list[NewEvent]], checks: Checks = ()) -> Decision:
    """产权置换: the lifecycle of both cylinders plus the checks; a refusal goes on the old one's stream."""
    assert old is not None and new is not None, "the app layer answers unknown codes with 404"
    found = [v for v in (lifecycle_violation(old, "swap_out"), lifecycle_violation(new, "swap_in")) if v]
    for check in checks:
        found.extend(check(old, cmd))
    if blocking(found):
        return _refusal("swap_out", ev.cylinder_stream(old.code), cmd, found)
    return Decision(_with_violations(accept(), found), found)


def refund_deposit(returned: CylinderState | None, cmd: RefundDeposit,
                   accept: Callable[[], list[NewEvent]]) -> Decision:
    """The returned company cylinder is collected from the customer (the lifecycle decides whether it can)."""
    return _judge("collect", returned, cmd, (), accept)
