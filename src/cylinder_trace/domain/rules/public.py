"""The public verdict on a cylinder (DOMAIN.md, Public side): "safe to use" or "do not use", and why,
in plain words for a member of the public.

It reuses the fill pre-check's state rules: a cylinder that may not be filled because it is scrapped,
seized, unqualified, overdue for inspection, past its design life or dual-phase may not be used either
(禁止使用).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from ..cylinder import CylinderState
from ..policy import Policy
from ..violations import Violation
from . import fill as fill_rules
from .fill import StateContext

SAFE_ZH: Final = "可以安全使用"
UNSAFE_ZH: Final = "禁止使用"

#: the state rules that make a cylinder unfit for use, in the order the page lists them
VERDICT_RULES: Final[tuple[fill_rules.StateRule, ...]] = (
    fill_rules.scrapped, fill_rules.seized, fill_rules.unqualified, fill_rules.overdue_inspection,
    fill_rules.life_expired, fill_rules.dual_phase_valve,
)

#: rule → (plain Chinese, plain English) for a member of the public, formatted with the violation's detail
_REASONS: Final[dict[str, tuple[str, str]]] = {
    "FILL_SCRAPPED": ("气瓶已报废，不得再使用", "the cylinder is scrapped"),
    "FILL_SEIZED": ("气瓶已被监管部门查封", "the cylinder has been seized by the authorities"),
    "FILL_UNQUALIFIED": ("气瓶检验不合格", "the cylinder failed its periodic inspection"),
    "FILL_OVERDUE_INSPECTION": ("超期未检：应于 {due_on} 前检验", "inspection overdue: it was due by {due_on}"),
    "FILL_LIFE_EXPIRED": ("超出设计使用年限：已于 {life_expires_on} 到期",
                          "past its design service life (reached on {life_expires_on})"),
    "FILL_DUAL_PHASE_VALVE": ("气液双相气瓶（{model}），禁止使用", "gas-liquid dual-phase cylinder ({model})"),
}


@dataclass(frozen=True, slots=True)
class Verdict:
    safe: bool
    #: ``{rule, zh, en}`` per reason the cylinder may not be used
    reasons: tuple[dict[str, str], ...]

    @property
    def text_zh(self) -> str:
        return SAFE_ZH if self.safe else UNSAFE_ZH

    def to_json(self) -> dict[str, Any]:
        return {"safe": self.safe, "text_zh": self.text_zh, "text_en": "safe to use" if self.safe else "do not use",
                "reasons": list(self.reasons)}


def _reason(v: Violation) -> dict[str, str]:
    zh, en = _REASONS.get(v.rule, (v.message_zh, v.message_en))
    return {"rule": v.rule, "zh": zh.format(**v.detail), "en": en.format(**v.detail)}


def verdict(state: CylinderState, today: date, policy: Policy) -> Verdict:
    """Safe to use, or not and why (pure)."""
    ctx = StateContext(today, policy)
    found = [v for rule in VERDICT_RULES for v in rule(state, ctx)]
    return Verdict(not found, tuple(_reason(v) for v in found))
