"""产权置换 swaps: quote, execute, refund the deposit (the readings of the seed: ``domain/swaps.py``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import decide, swaps
from ..domain.commands import ExecuteSwap, RefundDeposit
from ..domain.rules import swaps as swap_rules
from .cylinder_reads import readable_state
from .cylinders import CodeSettings, cylinder_view, existing_cylinder, named_codes, refusal_outcome
from .errors import Conflict, InvalidInput, NotFound
from .fill_checks import delivery_context
from .policies import policy_on, rule_day
from .principals import Principal
from .registries import require_entry
from .unit_of_work import Needs, Outcome, Tx, UnitOfWork
from .work_scope import require_cylinder_of

SWAP_ROLES = ("admin", "company_admin", "station_operator", "delivery_worker")


def swap_needs(old_code: str, new_code: str, customer_id: str) -> Needs:
    return Needs(codes=named_codes(old_code, new_code), entries=(("customer", customer_id),),
                 keys=(f"customer:{customer_id}",))


def refund_needs(swap_id: str, returned_code: str) -> Needs:
    return Needs(codes=named_codes(returned_code), streams=(swaps.swap_stream(swap_id),))


async def quote_swap(uow: UnitOfWork, caller: Principal, code: str, on: date, residual_kg: float,
                     recycle_price_cny: float | None = None) -> dict[str, Any]:
    """What a swap of ``code`` would cost on ``on``, by the policy in force that day (stores nothing)."""
    policy = policy_on(uow, on, "on")

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        state = await readable_state(conn, code, caller)
        q = swaps.quote_for(state, on, residual_kg, policy, recycle_price_cny)
        body = {"code": state.code, "on": on.isoformat(), **q.to_json()}
        warning = swap_rules.quote_warning(state)
        if warning is not None:
            body["warning"] = warning
        return body

    return await uow.read(reader)


async def execute_swap(tx: Tx, event_id: str, cmd: ExecuteSwap, caller: Principal, codes: CodeSettings) -> Outcome:
    caller.require(*SWAP_ROLES)
    customer = await require_entry(tx, "customer", cmd.customer_id, "customer_id")
    company_id = str(customer["company_id"])
    caller.require_company(company_id)
    old = await existing_cylinder(tx, cmd.old_code, "old_code", at=cmd.occurred_at)
    new = await existing_cylinder(tx, cmd.new_code, "new_code", at=cmd.occurred_at)
    # another company's cylinder is refused before the rules: nothing of it is told, nothing is written
    # into its stream
    require_cylinder_of(caller, old, company_id, "old_code")
    require_cylinder_of(caller, new, company_id, "new_code")
    if old.code == new.code:
        raise InvalidInput("new_code", "must differ from old_code")
    day, policy = rule_day(tx, cmd.occurred_at)
    try:
        q = swaps.quote_for(old, day, cmd.residual_kg, policy, cmd.recycle_price_cny)
    except ValueError as exc:
        raise InvalidInput("residual_kg", str(exc)) from None
    ctx = await delivery_context(tx, customer, cmd.occurred_at, excluding=(old.code, new.code))
    facts = swaps.SwapFacts(event_id, cmd.customer_id, company_id, day, cmd.occurred_at)
    decision = decide.swap(old, new, cmd, lambda: swaps.swap_events(old, new, facts, q),
                           [swap_rules.swap_check(old, new, cmd.customer_id, ctx)])
    recorded = await tx.record(decision.events, event_id=event_id, actor=caller.actor)
    if decision.refused:
        return refusal_outcome(decision, recorded)
    after_old = await tx.load_cylinder(old.code)
    after_new = await tx.load_cylinder(new.code)
    assert after_old is not None and after_new is not None
    return Outcome(201, {
        "swap_id": event_id, "customer_id": cmd.customer_id, "company_id": company_id, "day": day.isoformat(),
        "old_code": old.code, "new_code": new.code, **q.to_json(),
        "old": cylinder_view(after_old, codes), "new": cylinder_view(after_new, codes),
        "event_ids": [e.event_id for e in recorded],
        "warnings": [v.to_json() for v in decision.violations],
    })


async def refund_deposit(tx: Tx, event_id: str, cmd: RefundDeposit, caller: Principal) -> Outcome:
    caller.require(*SWAP_ROLES)
    history = await tx.load_stream(swaps.swap_stream(cmd.swap_id))
    swap = swaps.fold_swap((e.type, e.data) for e in history)
    if swap is None:
        raise NotFound("swap", cmd.swap_id)
    caller.require_company(swap.company_id)
    try:
        swaps.check_refundable(swap)
    except swaps.NoDeposit as exc:
        raise InvalidInput("swap_id", str(exc)) from None
    except swaps.AlreadyRefunded as exc:
        raise Conflict(str(exc)) from None
    returned = await existing_cylinder(tx, cmd.code, "returned_code", at=cmd.occurred_at)
    if returned.owner.company_id != swap.company_id:
        raise InvalidInput("returned_code", f"cylinder {returned.code} is not a cylinder of company {swap.company_id}")
    if returned.status == "at_customer" and returned.customer_id != swap.customer_id:
        raise InvalidInput("returned_code", f"cylinder {returned.code} is not at customer {swap.customer_id}")
    day, _ = rule_day(tx, cmd.occurred_at)
    events = swaps.refund_events(swap, returned, day, cmd.occurred_at)
    decision = decide.refund_deposit(returned, cmd, lambda: events)
    recorded = await tx.record(decision.events, event_id=event_id, actor=caller.actor)
    if decision.refused:
        return refusal_outcome(decision, recorded)
    return Outcome(201, {"swap_id": swap.swap_id, "refunded_cny": swaps.money(swap.deposit_cny),
                         "returned_code": returned.code, "event_ids": [e.event_id for e in recorded]})
