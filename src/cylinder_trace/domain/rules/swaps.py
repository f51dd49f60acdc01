"""产权置换 rules (DOMAIN.md; seed 三(二)2): the user's own cylinder for a company cylinder.

The old cylinder must be the customer's own, the new one the serving company's; since the customer is
handed a company cylinder, the customer and cylinder rules of a delivery run too
(:data:`~cylinder_trace.domain.rules.delivery.SWAP_RULES`). The fees are ``domain/swaps.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..cylinder import CylinderState
from ..violations import Violation
from . import catalogue as c
from .catalogue import subject
from .delivery import SWAP_RULES, DeliveryContext, delivery_violations


def ownership(old: CylinderState, new: CylinderState, customer_id: str, company_id: str) -> list[Violation]:
    found: list[Violation] = []
    if old.owner.customer_id != customer_id:
        found.append(c.SWAP_OLD_NOT_CUSTOMER_OWNED.at(subject("cylinder", old.code), company_id,
                                                      customer_id=customer_id, owner=old.owner.to_json()))
    if new.owner.company_id != company_id:
        found.append(c.SWAP_NEW_NOT_COMPANY_OWNED.at(subject("cylinder", new.code), company_id,
                                                     owner=new.owner.to_json()))
    return found


def quote_warning(old: CylinderState) -> str | None:
    """What a quote says of a cylinder a swap would refuse whoever the customer is."""
    if old.owner.customer_id is None:
        return f"the cylinder is not customer-owned: a swap would be refused ({c.SWAP_OLD_NOT_CUSTOMER_OWNED.code})"
    return None


def swap_check(old: CylinderState, new: CylinderState, customer_id: str,
               ctx: DeliveryContext) -> Callable[[CylinderState | None, Any], list[Violation]]:
    """The swap's rules as a ``decide`` check: ownership of both cylinders, then the customer's and the new
    cylinder's delivery rules."""

    def check(_: CylinderState | None, __: Any) -> list[Violation]:
        return [*ownership(old, new, customer_id, ctx.customer.company_id),
                *delivery_violations(new, ctx, SWAP_RULES)]

    return check
