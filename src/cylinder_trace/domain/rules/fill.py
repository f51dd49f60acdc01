"""Fill pre-check rules (DOMAIN.md, Fill pre-check; seed 一(一)3, 二(二), 三(二)4).

Two kinds of rule:

* **state rules** judge the cylinder alone on a day (overdue, life reached, dual phase, scrapped,
  seized, unqualified, no smart valve, swap inspection pending). A delivery re-uses them
  (``DELIVERY_NOT_FILLABLE``).
* **station rules** judge the fill at a station: ownership, licences, the filler's certificate, the
  post-fill mass and checks.

Each rule is a small pure function ``(state, context) -> list[Violation]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from ..cylinder import CylinderState
from ..dates import valid_on
from ..policy import Policy
from ..violations import Violation
from . import catalogue as c
from .catalogue import subject
from .facts import CompanyFacts, StaffFacts, StationFacts


@dataclass(frozen=True, slots=True)
class StateContext:
    """What a state rule needs: the day (Asia/Shanghai) and the policy in force that day."""

    today: date
    policy: Policy


@dataclass(frozen=True, slots=True)
class FillContext:
    today: date
    policy: Policy
    station: StationFacts
    company: CompanyFacts
    #: None in a fill check that names no filler
    filler: StaffFacts | None = None
    #: the measured net mass and the station's checks; None in a fill check (before filling)
    net_mass_kg: float | None = None
    checks: Mapping[str, bool] | None = None

    @property
    def state_context(self) -> StateContext:
        return StateContext(self.today, self.policy)


StateRule = Callable[[CylinderState, StateContext], list[Violation]]
FillRule = Callable[[CylinderState, FillContext], list[Violation]]


def _cyl(state: CylinderState) -> str:
    return subject("cylinder", state.code)


# --- state rules --------------------------------------------------------------------------------
def overdue_inspection(state: CylinderState, ctx: StateContext) -> list[Violation]:
    """Due today may still be filled today; overdue from tomorrow."""
    if ctx.today > state.next_inspection_due:
        return [c.FILL_OVERDUE_INSPECTION.at(_cyl(state), state.company_id,
                                             due_on=state.next_inspection_due.isoformat())]
    return []


def life_expired(state: CylinderState, ctx: StateContext) -> list[Violation]:
    """Design life is reached on the anniversary itself: from that day on, no fill."""
    if ctx.today >= state.life_expires_on:
        return [c.FILL_LIFE_EXPIRED.at(_cyl(state), state.company_id,
                                       life_expires_on=state.life_expires_on.isoformat())]
    return []


def dual_phase_valve(state: CylinderState, ctx: StateContext) -> list[Violation]:
    """A converted cylinder (passing inspection with ``converted_to_single_phase``) is single phase."""
    if state.valve_phase == "dual":
        return [c.FILL_DUAL_PHASE_VALVE.at(_cyl(state), state.company_id, model=state.model)]
    return []


def scrapped(state: CylinderState, ctx: StateContext) -> list[Violation]:
    if state.status == "scrapped":
        return [c.FILL_SCRAPPED.at(_cyl(state), state.company_id)]
    return []


def scrapped_reappeared(state: CylinderState, ctx: StateContext) -> list[Violation]:
    """A scrapped cylinder trying to re-enter the market (a fill, a delivery or a scan of it)."""
    if state.status == "scrapped":
        return [c.SCRAPPED_CYLINDER_REAPPEARED.at(_cyl(state), state.company_id, code=state.code)]
    return []


def seized(state: CylinderState, ctx: StateContext) -> list[Violation]:
    if state.status == "seized":
        return [c.FILL_SEIZED.at(_cyl(state), state.company_id)]
    return []


def unqualified(state: CylinderState, ctx: StateContext) -> list[Violation]:
    failed = state.last_inspection_result == "fail" and state.status != "scrapped"
    if state.status == "unqualified" or failed:
        return [c.FILL_UNQUALIFIED.at(_cyl(state), state.company_id)]
    return []


def _valve_reason(state: CylinderState, policy: Policy) -> tuple[str, str] | None:
    """Why a company cylinder needs a smart valve (三(二)4: 新进自有钢瓶、到期检验钢瓶), or None: new to the
    company (``in_service_since``) or taken over in a swap on or after the cutoff, or passed a periodic
    inspection on or after it. The existing fleet thus needs its valve at its first inspection from then."""
    cutoff = policy.smart_valve_required_from
    if state.new_to_owner_on >= cutoff:
        day = state.new_to_owner_on.isoformat()
        return f"{day} 新进", f"new to the company on {day}"
    if state.acquired_on is not None and state.acquired_on >= cutoff:
        day = state.acquired_on.isoformat()
        return f"{day} 置换收回", f"taken over in a swap on {day}"
    if (state.last_inspection_result == "pass" and state.last_inspected_on is not None
            and state.last_inspected_on >= cutoff):
        return (f"{state.last_inspected_on.isoformat()} 检验合格",
                f"passed inspection on {state.last_inspected_on.isoformat()}")
    return None


def no_smart_valve(state: CylinderState, ctx: StateContext) -> list[Violation]:
    if state.owner.company_id is None or state.smart_valve_id is not None or state.status == "scrapped":
        return []
    reason = _valve_reason(state, ctx.policy)
    if reason is None:
        return []
    zh, en = reason
    return [c.FILL_NO_SMART_VALVE.at(_cyl(state), state.company_id, reason_zh=zh, reason_en=en,
                                     required_from=ctx.policy.smart_valve_required_from.isoformat())]


def swap_inspection_pending(state: CylinderState, ctx: StateContext) -> list[Violation]:
    if state.inspection_required and state.status != "scrapped":
        return [c.FILL_SWAP_INSPECTION_PENDING.at(_cyl(state), state.company_id)]
    return []


#: the state rules, in the order a refusal lists them
STATE_RULES: tuple[StateRule, ...] = (
    scrapped, scrapped_reappeared, seized, unqualified, overdue_inspection, life_expired, dual_phase_valve,
    swap_inspection_pending, no_smart_valve,
)


def state_violations(state: CylinderState, ctx: StateContext,
                     rules: Sequence[StateRule] = STATE_RULES) -> list[Violation]:
    return [v for rule in rules for v in rule(state, ctx)]


# --- station rules ------------------------------------------------------------------------------
def _station(ctx: FillContext) -> str:
    return subject("station", ctx.station.id)


def _owner_text(state: CylinderState) -> str:
    if state.owner.company_id is not None:
        return f"company:{state.owner.company_id}"
    return f"customer:{state.owner.customer_id}"


def not_owned(state: CylinderState, ctx: FillContext) -> list[Violation]:
    """Only the station company's own cylinders are filled (非自有产权气瓶不得充装)."""
    if state.owner.company_id == ctx.station.company_id:
        return []
    return [c.FILL_NOT_OWNED.at(subject("station", ctx.station.id), ctx.station.company_id, code=state.code,
                                owner=_owner_text(state), station_company_id=ctx.station.company_id)]


def station_unlicensed(state: CylinderState | None, ctx: FillContext) -> list[Violation]:
    found: list[Violation] = []
    if not valid_on(ctx.station.licence_valid_until, ctx.today):
        found.append(c.FILL_STATION_UNLICENSED.at(
            subject("station", ctx.station.id), ctx.station.company_id, holder_zh=f"充装站 {ctx.station.id} ",
            holder_en=f"station {ctx.station.id}", valid_until=_iso(ctx.station.licence_valid_until)))
    if not valid_on(ctx.company.licence_valid_until, ctx.today):
        found.append(c.FILL_STATION_UNLICENSED.at(
            subject("company", ctx.company.id), ctx.company.id, holder_zh=f"燃气经营企业 {ctx.company.id} ",
            holder_en=f"company {ctx.company.id} gas business",
            valid_until=_iso(ctx.company.licence_valid_until)))
    return found


def filler_uncertified(state: CylinderState | None, ctx: FillContext) -> list[Violation]:
    filler = ctx.filler
    if filler is None:
        return []
    reason: tuple[str, str] | None = None
    if filler.kind != "filler":
        reason = ("不是充装工", "not a filler")
    elif filler.company_id != ctx.station.company_id:
        reason = (f"属于企业 {filler.company_id}", f"employed by company {filler.company_id}")
    elif not filler.certified_on(ctx.today):
        reason = (f"证书有效期至 {_iso(filler.certificate_valid_until)}",
                  f"certificate valid until {_iso(filler.certificate_valid_until)}")
    if reason is None:
        return []
    return [c.FILL_FILLER_UNCERTIFIED.at(subject("company", ctx.station.company_id), ctx.station.company_id,
                                         staff_id=filler.id, reason_zh=reason[0], reason_en=reason[1])]


def overfill(state: CylinderState, ctx: FillContext) -> list[Violation]:
    if ctx.net_mass_kg is None:
        return []
    max_fill = ctx.policy.model(state.model).max_fill_kg
    if ctx.net_mass_kg > max_fill:
        return [c.FILL_OVERFILL.at(_station(ctx), ctx.station.company_id, code=state.code,
                                   net_mass_kg=ctx.net_mass_kg, max_fill_kg=max_fill)]
    return []


def checks_failed(state: CylinderState, ctx: FillContext) -> list[Violation]:
    failed = sorted(name for name, ok in (ctx.checks or {}).items() if not ok)
    if not failed:
        return []
    return [c.FILL_CHECKS_FAILED.at(_station(ctx), ctx.station.company_id, code=state.code,
                                    failed=", ".join(failed))]


STATION_RULES: tuple[FillRule, ...] = (
    not_owned, station_unlicensed, filler_uncertified, overfill, checks_failed,
)


def fill_violations(state: CylinderState, ctx: FillContext) -> list[Violation]:
    """Every fill rule that speaks, the cylinder's state first."""
    station = [v for rule in STATION_RULES for v in rule(state, ctx)]
    return [*state_violations(state, ctx.state_context), *station]


def unknown_code(code: str, ctx: FillContext) -> Violation:
    """黑气瓶: a well-formed code nobody registered, seen at a station (a high finding on the station)."""
    return c.FILL_UNKNOWN_CODE.at(subject("station", ctx.station.id), ctx.station.company_id, code=code)


def unknown_code_violations(code: str, ctx: FillContext) -> list[Violation]:
    """An unregistered code, and whatever is wrong with the station and the filler besides."""
    return [unknown_code(code, ctx), *station_unlicensed(None, ctx), *filler_uncertified(None, ctx)]


#: rules a mere sighting is evidence of (the cylinder must not be on the market at all): recorded even by a
#: fill check, which refuses nothing
EVIDENCE_ON_SIGHT: Final = frozenset({c.SCRAPPED_CYLINDER_REAPPEARED.code, c.FILL_UNKNOWN_CODE.code})


def evidence_on_sight(found: Sequence[Violation]) -> list[Violation]:
    return [v for v in found if v.rule in EVIDENCE_ON_SIGHT]


def fill_check(ctx: FillContext) -> Callable[[CylinderState | None, Any], list[Violation]]:
    """The fill rules as a ``decide`` check bound to the station's facts."""

    def check(state: CylinderState | None, cmd: Any) -> list[Violation]:
        if state is None:
            return unknown_code_violations(cmd.code, ctx)
        return fill_violations(state, ctx)

    return check


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "—"
