"""Whose cylinder, whose customer, whose staff: the checks every piece of work makes before the rules.

A company token works only on its own company's cylinders (403 otherwise, as a read would be); for a
caller who acts for every company (admin), a cylinder, customer, worker or vehicle of two companies in
one command is invalid input naming the field. A cylinder is collected only from the customer who holds
it, and a customer's own cylinder goes back only to that customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.cylinder import CylinderState
from .errors import InvalidInput
from .principals import Principal


def require_of_company(entry: Mapping[str, Any] | None, company_id: str, field: str, kind: str) -> None:
    """A registry entry a command names (staff, a vehicle) belongs to the company doing the work."""
    if entry is not None and entry.get("company_id") != company_id:
        raise InvalidInput(field, f"{kind} is not of company {company_id}")


def require_cylinder_of(principal: Principal, state: CylinderState, company_id: str, field: str = "code") -> None:
    """The cylinder is the company's: owned by it, or owned by a customer it serves."""
    principal.require_company(state.company_id)
    if state.company_id != company_id:
        raise InvalidInput(field, f"cylinder {state.code} is not a cylinder of company {company_id}")


def require_at_customer(state: CylinderState, customer_id: str, field: str = "customer_id") -> None:
    """A cylinder at a customer's is collected from that customer only (one in stock is left to the
    lifecycle rule, which refuses the collection as evidence)."""
    if state.status == "at_customer" and state.customer_id != customer_id:
        raise InvalidInput(field, f"cylinder {state.code} is not at customer {customer_id}")


def require_owner_receives(state: CylinderState, customer_id: str, field: str = "customer_id") -> None:
    """A customer's own cylinder (用户自有) is delivered back to its owner only."""
    owner = state.owner.customer_id
    if owner is not None and owner != customer_id:
        raise InvalidInput(field, f"cylinder {state.code} is a customer's own and goes back only to its owner")
