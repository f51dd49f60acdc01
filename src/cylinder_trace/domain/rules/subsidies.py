"""Government subsidies to a company (seed 三(二)3-4; DOMAIN.md, 产权置换 and subsidies).

* ``smart_valve``: per smart angle valve fitted to a company-owned cylinder, from the policy's
  ``subsidy_effective_from``, once per valve **and** once per cylinder: a fit earns only when neither
  that valve nor that cylinder has earned before (a valve moved to another cylinder, or a second valve
  on the same cylinder, earns nothing).
* ``recycling``: per cylinder a company takes in and scraps that it did not own before (customer-owned
  or another company's), only when it is beyond its design life (超出使用期限), unqualified (检验不合格)
  or of an obsolete model (国家明令淘汰, policy ``obsolete_models``) — :func:`recycling_category`, which
  the scrap records — and only with the complete real-name registration of the person who handed it
  in (name, ID number, phone, address). A sound cylinder may be scrapped but earns nothing. A swap's
  recycle branch earns it by itself (the customer's real name is on record; basis ``swap_recycle``).
  Scrapping the company's own fleet earns nothing.

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
#: why a recycled cylinder may earn the recycling subsidy (seed 三(二)3: 超出使用期限、检验不合格和国家明令淘汰)
RecyclingCategory = Literal["life_expired", "unqualified", "obsolete"]
RECYCLING_CATEGORIES: Final[tuple[RecyclingCategory, ...]] = ("life_expired", "unqualified", "obsolete")
#: the basis of a swap's recycling subsidy (产权置换 recycle branch)
SWAP_RECYCLE: Final = "swap_recycle"


@dataclass(frozen=True, slots=True)
class Subsidy:
    kind: SubsidyKind
    amount_cny: float
    company_id: str
    day: date
    #: recycling: the category that earned it, or ``swap_recycle``
    basis: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As stored in the event (``data.subsidy``): the ledger's row."""
        body: dict[str, Any] = {"kind": self.kind, "amount_cny": self.amount_cny, "company_id": self.company_id,
                                "day": self.day.isoformat()}
        if self.basis is not None:
            body["basis"] = self.basis
        return body



#: why an action earned no subsidy: code → (Chinese, English)
WITHHELD_REASONS: Final[dict[str, tuple[str, str]]] = {
    "not_company_owned": ("气瓶不是企业自有产权", "the cylinder is not company-owned"),
    "before_subsidy_period": ("补贴自 {effective_from} 起执行", "subsidies are paid from {effective_from}"),
    "cylinder_already_subsidized": ("该气瓶已领取过智能角阀补贴（每个气瓶一次）",
                                    "this cylinder has earned the smart-valve subsidy before (once per cylinder)"),
    "valve_already_subsidized": ("该智能角阀已领取过补贴（每个角阀一次）",
                                 "this valve has earned the subsidy before (once per valve)"),
    "no_company": ("未注明收回报废气瓶的企业（company_id）", "no company named as taking the cylinder in (company_id)"),
    "own_fleet": ("企业报废自有气瓶不享受回收补贴", "scrapping the company's own cylinder earns nothing"),
    "sound_cylinder": ("气瓶未超出使用期限、检验合格且非国家明令淘汰型号",
                       "the cylinder is within its design life, not unqualified and not of an obsolete model"),
    "no_real_name": ("缺少交瓶人的实名登记（姓名、身份证号、电话、地址）",
                     "no real-name registration of the person who handed it in (name, ID number, phone, address)"),
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



Outcome = Subsidy | Withheld


def told(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an action's answer says of its subsidy, from the event's data: earned, or withheld and why."""
    if isinstance(data.get("subsidy"), Mapping):
        return {**data["subsidy"], "earned": True}
    withheld = data.get("subsidy_withheld")
    return dict(withheld) if isinstance(withheld, Mapping) else None


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


def recycling_category(state: CylinderState, day: date, policy: Policy) -> RecyclingCategory | None:
    """Which category of the seed a scrapped cylinder falls in, the first that applies in the seed's order:
    beyond its design life on ``day`` (``life_expires_on`` reached), unqualified (its last inspection
    failed), or of an obsolete model not converted; None for a sound cylinder."""
    if day >= state.life_expires_on:
        return "life_expired"
    if state.status == "unqualified" or state.last_inspection_result == "fail":
        return "unqualified"
    if policy.is_obsolete(state.model, state.valve_phase):
        return "obsolete"
    return None


def recycling(state: CylinderState, company_id: str | None, handed_in_by: Mapping[str, Any] | None, day: date,
              policy: Policy) -> Outcome:
    """A scrap earns the recycling subsidy for the company taking in a cylinder it did not own, of a
    recycling category, handed in under a complete real-name registration, from the subsidies' day."""
    reasons: list[str] = []
    if company_id is None:
        reasons.append("no_company")
    elif state.owner.company_id == company_id:
        reasons.append("own_fleet")
    category = recycling_category(state, day, policy)
    if category is None:
        reasons.append("sound_cylinder")
    if handed_in_by is None or missing_hand_in_fields(handed_in_by):
        reasons.append("no_real_name")
    if day < policy.subsidy_effective_from:
        reasons.append("before_subsidy_period")
    if reasons or company_id is None:
        return Withheld("recycling", tuple(reasons), {"effective_from": policy.subsidy_effective_from.isoformat()})
    return Subsidy("recycling", policy.subsidy_recycling_cny, company_id, day, category)
