"""产权置换: swapping a user-owned cylinder for a company cylinder (seed 三(二)2; DOMAIN.md).

How this code reads the seed — the one place these readings live:

1. "钢瓶使用年限超过7年" — *age > 7* means the swap day is later than the 7th anniversary of
   manufacture (``dates.add_years``; 29 February falls back to 28 February). On the anniversary
   itself the lower branch applies, the day after the higher one.
2. "检验期超过3年" — *since inspection > 3* means the swap day is later than the 3rd anniversary of
   the last inspection on record (pass or fail; a failed one leaves the cylinder unqualified anyway),
   or of manufacture when it was never inspected. "3年以内" (within 3 years, inclusive) is free.
3. The branches are tried in the table's order: an old cylinder (> 7 years) is recycled even when it
   was inspected recently. Only the anniversaries decide the branch; residual gas and prices never do.
4. ``inspection_fee``: the user pays 70 CNY (angle valve + inspection, "角阀费和检测费共计70元").
   ``free``: nothing. In both the user's cylinder becomes company property (the company provides its
   own cylinder "无偿"), and may not be filled until it passes an inspection *and* has a smart valve
   (state ``inspection_required`` until a passing inspection; ``FILL_NO_SMART_VALVE`` by ``acquired_on``).
5. ``recycle``: the company buys the old cylinder at the market price ("按市场价回收": the price
   given with the swap, else the policy's price for the model), scraps it, and lends a company
   cylinder against a 200 CNY deposit ("抵押金"), refunded when the user stops and returns a company
   cylinder. The recycle branch earns the company the recycling subsidy by itself (10 CNY, 三(二)3):
   the customer's real name is on record.
6. Residual LPG ("钢瓶内有剩余液化石油气的…应当补足") is topped up in the new cylinder in every
   branch: recorded in kg, never charged.
7. The smart-valve subsidy for the taken-over cylinder is earned when the valve is fitted, not here.
8. Fees are never negative; ages in the quote are whole completed years (an anniversary counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Final, Literal

from . import events as ev
from .cylinder import CylinderState
from .dates import add_years, whole_years_between
from .events import NewEvent, cylinder_stream
from .policy import Policy
from .rules.subsidies import SWAP_RECYCLE, Subsidy

Branch = Literal["recycle", "inspection_fee", "free"]
LineKind = Literal["user_fee", "deposit", "payout", "topup", "subsidy"]

SWAP_EXECUTED: Final = "SwapExecuted"
SWAP_LINE_RECORDED: Final = "SwapLineRecorded"
SWAP_DEPOSIT_REFUNDED: Final = "SwapDepositRefunded"


def swap_stream(swap_id: str) -> str:
    return f"swap:{swap_id}"


def money(value: float) -> float | int:
    """A CNY amount as JSON writes it: whole yuan as an integer, else to the fen."""
    rounded = round(float(value), 2)
    return int(rounded) if rounded == int(rounded) else rounded


def branch_for(manufactured_on: date, last_inspected_on: date | None, on: date, recycle_age_years: int,
               fee_since_inspection_years: int) -> Branch:
    """The branch is a function of the two anniversaries only (readings 1–3)."""
    if on > add_years(manufactured_on, recycle_age_years):
        return "recycle"
    if on > add_years(last_inspected_on or manufactured_on, fee_since_inspection_years):
        return "inspection_fee"
    return "free"


@dataclass(frozen=True, slots=True)
class SwapQuote:
    branch: Branch
    user_pays_cny: float
    deposit_cny: float
    company_pays_user_cny: float
    topup_kg: float
    subsidy_cny: float
    age_years: int
    years_since_inspection: int
    recycle_price_cny: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "user_pays_cny": money(self.user_pays_cny),
            "deposit_cny": money(self.deposit_cny),
            "company_pays_user_cny": money(self.company_pays_user_cny),
            "topup_kg": self.topup_kg,
            "subsidy_cny": money(self.subsidy_cny),
            "recycle_price_cny": None if self.recycle_price_cny is None else money(self.recycle_price_cny),
            "basis": {"age_years": self.age_years, "years_since_inspection": self.years_since_inspection},
        }


def quote(manufactured_on: date, last_inspected_on: date | None, model: str, on: date, residual_kg: float,
          policy: Policy, recycle_price_cny: float | None = None) -> SwapQuote:
    if residual_kg < 0:
        raise ValueError("residual_kg must not be negative")
    if recycle_price_cny is not None and recycle_price_cny < 0:
        raise ValueError("recycle_price_cny must not be negative")
    branch = branch_for(manufactured_on, last_inspected_on, on, policy.swap_recycle_age_years,
                        policy.swap_fee_since_inspection_years)
    age = max(0, whole_years_between(manufactured_on, on))
    since = max(0, whole_years_between(last_inspected_on or manufactured_on, on))
    if branch == "recycle":
        price = recycle_price_cny if recycle_price_cny is not None else policy.model(model).recycle_price_cny
        subsidy = policy.subsidy_recycling_cny if on >= policy.subsidy_effective_from else 0.0
        return SwapQuote(branch, 0.0, policy.swap_deposit_cny, price, residual_kg, subsidy, age, since, price)
    fee = policy.swap_inspection_fee_cny if branch == "inspection_fee" else 0.0
    return SwapQuote(branch, fee, 0.0, 0.0, residual_kg, 0.0, age, since)


def quote_for(state: CylinderState, on: date, residual_kg: float, policy: Policy,
              recycle_price_cny: float | None = None) -> SwapQuote:
    return quote(state.manufactured_on, state.last_inspected_on, state.model, on, residual_kg, policy,
                 recycle_price_cny)


@dataclass(frozen=True, slots=True)
class SwapLine:
    kind: LineKind
    amount_cny: float | None = None
    kg: float | None = None


def lines(q: SwapQuote) -> list[SwapLine]:
    """The money lines of a swap (and the top-up, in kg); zero lines are left out."""
    found: list[SwapLine] = []
    if q.user_pays_cny:
        found.append(SwapLine("user_fee", q.user_pays_cny))
    if q.deposit_cny:
        found.append(SwapLine("deposit", q.deposit_cny))
    if q.company_pays_user_cny:
        found.append(SwapLine("payout", q.company_pays_user_cny))
    if q.topup_kg:
        found.append(SwapLine("topup", kg=q.topup_kg))
    if q.subsidy_cny:
        found.append(SwapLine("subsidy", q.subsidy_cny))
    return found


@dataclass(frozen=True, slots=True)
class SwapFacts:
    """Who is involved: the customer and the company serving them, and the day (Asia/Shanghai)."""

    swap_id: str
    customer_id: str
    company_id: str
    day: date
    occurred_at: datetime


def swap_events(old: CylinderState, new: CylinderState, facts: SwapFacts, q: SwapQuote) -> list[NewEvent]:
    """The swap's events: the swap and its lines on ``swap:<id>``, then both cylinders' streams."""
    at, sid = facts.occurred_at, facts.swap_id
    common = {"swap_id": sid, "company_id": facts.company_id, "customer_id": facts.customer_id,
              "day": facts.day.isoformat()}
    stream = swap_stream(sid)
    events = [NewEvent(SWAP_EXECUTED, {**common, "old_code": old.code, "new_code": new.code, **q.to_json()},
                       at, stream)]
    for line in lines(q):
        data: dict[str, Any] = {**common, "kind": line.kind}
        if line.amount_cny is not None:
            data["amount_cny"] = money(line.amount_cny)
        if line.kg is not None:
            data["kg"] = line.kg
        if line.kind == "subsidy":
            assert line.amount_cny is not None
            subsidy = Subsidy("recycling", money(line.amount_cny), facts.company_id, facts.day, SWAP_RECYCLE)
            data["subsidy"] = subsidy.to_json()
        events.append(NewEvent(SWAP_LINE_RECORDED, data, at, stream))
    events.append(NewEvent(ev.CYLINDER_SWAPPED_OUT, {**common, "branch": q.branch,
                                                  "previous_owner": old.owner.to_json()},
                           at, cylinder_stream(old.code)))
    if q.branch == "recycle":
        events.append(NewEvent(ev.CYLINDER_SCRAPPED, {
            "reason": "产权置换回收报废 (recycled in swap)", "company_id": facts.company_id,
            "handed_in_by": None, "previous_status": "empty_in_stock", "previous_owner": old.owner.to_json(),
            "swap_id": sid,
        }, at, cylinder_stream(old.code)))
    events.append(NewEvent(ev.CYLINDER_SWAPPED_IN, {**common, "topup_kg": q.topup_kg}, at,
                           cylinder_stream(new.code)))
    return events


@dataclass(frozen=True, slots=True)
class SwapState:
    swap_id: str
    company_id: str
    customer_id: str
    old_code: str
    new_code: str
    branch: Branch
    deposit_cny: float
    day: date
    refunded_on: date | None = None


def fold_swap(history: Iterable[tuple[str, Mapping[str, Any]]]) -> SwapState | None:
    state: SwapState | None = None
    for event_type, data in history:
        if event_type == SWAP_EXECUTED:
            state = SwapState(data["swap_id"], data["company_id"], data["customer_id"], data["old_code"],
                              data["new_code"], data["branch"], float(data["deposit_cny"]),
                              date.fromisoformat(data["day"]))
        elif event_type == SWAP_DEPOSIT_REFUNDED and state is not None:
            state = replace(state, refunded_on=date.fromisoformat(data["day"]))
    return state


class RefundRefused(ValueError):
    """Why a deposit cannot be refunded."""


class NoDeposit(RefundRefused):
    pass


class AlreadyRefunded(RefundRefused):
    pass


def check_refundable(swap: SwapState) -> None:
    """Raise :class:`NoDeposit` or :class:`AlreadyRefunded` when the swap's deposit cannot be refunded."""
    if swap.deposit_cny <= 0:
        raise NoDeposit(f"swap {swap.swap_id} took no deposit (branch {swap.branch})")
    if swap.refunded_on is not None:
        raise AlreadyRefunded(f"the deposit of swap {swap.swap_id} was already refunded "
                              f"on {swap.refunded_on.isoformat()}")


def refund_events(swap: SwapState, returned: CylinderState, day: date,
                  occurred_at: datetime) -> list[NewEvent]:
    """The user stops and returns a company cylinder: the deposit goes back, the cylinder comes in."""
    check_refundable(swap)
    common = {"swap_id": swap.swap_id, "company_id": swap.company_id, "customer_id": swap.customer_id,
              "day": day.isoformat()}
    return [
        NewEvent(SWAP_DEPOSIT_REFUNDED,
                 {**common, "amount_cny": money(swap.deposit_cny), "returned_code": returned.code},
                 occurred_at, swap_stream(swap.swap_id)),
        NewEvent(ev.CYLINDER_COLLECTED,
                 {"customer_id": swap.customer_id, "worker_id": None, "residual_kg": None,
                  "swap_id": swap.swap_id, "reason": "deposit_refund"},
                 occurred_at, cylinder_stream(returned.code)),
    ]
