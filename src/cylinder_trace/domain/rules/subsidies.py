"""Government subsidies to a company (seed 三(二)3-4; DOMAIN.md, 产权置换 and subsidies).

* ``smart_valve``: per smart angle valve fitted to a company-owned cylinder, from the policy's
  ``subsidy_effective_from``, once per valve **and** once per cylinder: a fit earns only when neither
  that valve nor that cylinder has earned before (a valve moved to another cylinder, or a second valve
  on the same cylinder, earns nothing).
* ``recycling``: per cylinder a company takes in and scraps that it did not own before (customer-owned
  or another company's), only with the complete real-name registration of the person who handed it
  in (name, ID number, phone, address). A swap's recycle branch earns it by itself (the customer's
  real name is on record). Scrapping the company's own fleet earns nothing.

The decision is made when the event is decided and stored in it (``data.subsidy``), so the ledger is
a plain projection of the events and a later policy change never rewrites past amounts. An action that
earns nothing says why (:class:`Withheld`, ``data.subsidy_withheld``) and has no ledger row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal

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
        """As stored in the event (``data.subsidy``): the ledger's row."""
        return {"kind": self.kind, "amount_cny": self.amount_cny, "company_id": self.company_id,
                "day": self.day.isoformat()}

    def answer(self) -> dict[str, Any]:
        """As the action's answer tells it."""
        return {**self.to_json(), "earned": True}


#: why an action earned no subsidy: code → (Chinese, English)
WITHHELD_REASONS: Final[dict[str, tuple[str, str]]] = {
    "not_company_owned": ("气瓶不是企业自有产权", "the cylinder is not company-owned"),
    "before_subsidy_period": ("补贴自 {effective_from} 起执行", "subsidies are paid from {effective_from}"),
    "cylinder_already_subsidized": ("该气瓶已领取过智能角阀补贴（每个气瓶一次）",
                                    "this cylinder has earned the smart-valve subsidy before (once per cylinder)"),
    "valve_already_subsidized": ("该智能角阀已领取过补贴（每个角阀一次）",
                                 "this valve has earned the subsidy before (once per valve)"),
}


@dataclass(frozen=True, slots=True)
class Withheld:
    """An action that earned no subsidy, and why (every reason that applies, in :data:`WITHHELD_REASONS`)."""

    kind: SubsidyKind
    reasons: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)
    #: the events that earned it before (a valve's or a cylinder's earlier fit)
    earned_by: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """As stored in the event (``data.subsidy_withheld``) and told in the answer."""
        return {
            "kind": self.kind, "earned": False, "amount_cny": 0,
            "reasons": [{"code": r, "zh": WITHHELD_REASONS[r][0].format(**self.detail),
                         "en": WITHHELD_REASONS[r][1].format(**self.detail)} for r in self.reasons],
            "earned_by": list(self.earned_by),
        }

    def answer(self) -> dict[str, Any]:
        return self.to_json()


Outcome = Subsidy | Withheld


@dataclass(frozen=True, slots=True)
class EarnedBefore:
    """Smart-valve subsidies already earned, as the ledger holds them: the event ids of the cylinder's
    and of the valve's earlier earning fits."""

    by_cylinder: tuple[str, ...] = ()
    by_valve: tuple[str, ...] = ()


def missing_hand_in_fields(handed_in_by: Mapping[str, Any] | None) -> list[str]:
    """The real-name fields a given ``handed_in_by`` lacks (none given: nothing is missing)."""
    if handed_in_by is None:
        return []
    return [f for f in REAL_NAME_FIELDS if not str(handed_in_by.get(f) or "").strip()]


def smart_valve(state: CylinderState, day: date, policy: Policy, before: EarnedBefore) -> Outcome:
    """A fit earns once per valve and once per cylinder: only when neither has earned before."""
    company = state.owner.company_id
    reasons: list[str] = []
    if company is None:
        reasons.append("not_company_owned")
    if day < policy.subsidy_effective_from:
        reasons.append("before_subsidy_period")
    if before.by_cylinder:
        reasons.append("cylinder_already_subsidized")
    if before.by_valve:
        reasons.append("valve_already_subsidized")
    if reasons or company is None:
        return Withheld("smart_valve", tuple(reasons),
                        {"effective_from": policy.subsidy_effective_from.isoformat()},
                        tuple(dict.fromkeys((*before.by_cylinder, *before.by_valve))))
    return Subsidy("smart_valve", policy.subsidy_smart_valve_cny, company, day)


def recycling(state: CylinderState, company_id: str | None, handed_in_by: Mapping[str, Any] | None, day: date,
              policy: Policy) -> Subsidy | None:
    if company_id is None or state.owner.company_id == company_id or day < policy.subsidy_effective_from:
        return None
    if handed_in_by is None or missing_hand_in_fields(handed_in_by):
        return None
    return Subsidy("recycling", policy.subsidy_recycling_cny, company_id, day)
