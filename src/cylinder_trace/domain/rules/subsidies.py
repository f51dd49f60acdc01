"""Government subsidies to a company (seed 三(二)3-4; DOMAIN.md, 产权置换 and subsidies).

* ``smart_valve``: per smart angle valve fitted to a company-owned cylinder, once per cylinder and
  valve, from the policy's ``subsidy_effective_from``.
* ``recycling``: per cylinder a company takes in and scraps that it did not own before (customer-owned
  or another company's), only with the complete real-name registration of the person who handed it
  in (name, ID number, phone, address). A swap's recycle branch earns it by itself (the customer's
  real name is on record). Scrapping the company's own fleet earns nothing.

The decision is made when the event is decided and stored in it (``data.subsidy``), so the ledger is
a plain projection of the events and a later policy change never rewrites past amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from ..cylinder import CylinderState
from ..policy import Policy
from .facts import REAL_NAME_FIELDS

SubsidyKind = Literal["smart_valve", "recycling"]


@dataclass(frozen=True, slots=True)
class Subsidy:
    kind: SubsidyKind
    amount_cny: float
    company_id: str
    day: date

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "amount_cny": self.amount_cny, "company_id": self.company_id,
                "day": self.day.isoformat()}


def missing_hand_in_fields(handed_in_by: Mapping[str, Any] | None) -> list[str]:
    """The real-name fields a given ``handed_in_by`` lacks (none given: nothing is missing)."""
    if handed_in_by is None:
        return []
    return [f for f in REAL_NAME_FIELDS if not str(handed_in_by.get(f) or "").strip()]


def smart_valve(state: CylinderState, day: date, policy: Policy, already_paid: bool) -> Subsidy | None:
    company = state.owner.company_id
    if company is None or already_paid or day < policy.subsidy_effective_from:
        return None
    return Subsidy("smart_valve", policy.subsidy_smart_valve_cny, company, day)


def recycling(state: CylinderState, company_id: str | None, handed_in_by: Mapping[str, Any] | None, day: date,
              policy: Policy) -> Subsidy | None:
    if company_id is None or state.owner.company_id == company_id or day < policy.subsidy_effective_from:
        return None
    if handed_in_by is None or missing_hand_in_fields(handed_in_by):
        return None
    return Subsidy("recycling", policy.subsidy_recycling_cny, company_id, day)
