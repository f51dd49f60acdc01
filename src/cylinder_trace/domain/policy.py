"""Policy as data: every number the rules use, per jurisdiction, with an effective date."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .dates import add_years


@dataclass(frozen=True, slots=True)
class ModelSpec:
    water_l: float
    max_fill_kg: float
    dual_phase: bool
    recycle_price_cny: float


#: the town's rectification deadlines by severity (days after the finding opened)
DEFAULT_RECTIFICATION_DAYS: dict[str, int] = {"block": 15, "high": 7, "warn": 30}
SEVERITIES: tuple[str, ...] = ("block", "high", "warn")


@dataclass(frozen=True, slots=True)
class Policy:
    jurisdiction: str
    effective_from: date
    inspection_interval_years: int
    design_life_years: int
    design_life_years_before_cutoff: int
    design_life_cutoff: date
    life_extension_years: int
    smart_valve_required_from: date
    fill_confirm_window_minutes: int
    valve_offline_hours: int
    fill_authorization_minutes: int
    inspection_due_soon_days: int
    hazard_rectify_days: int
    storage_limit_kg: float
    swap_recycle_age_years: int
    swap_fee_since_inspection_years: int
    swap_inspection_fee_cny: float
    swap_deposit_cny: float
    subsidy_effective_from: date
    subsidy_smart_valve_cny: float
    subsidy_recycling_cny: float
    models: dict[str, ModelSpec] = field(default_factory=dict)
    #: models banned by the state (国家明令淘汰, seed 三(二)3): a dual-phase one only while not converted
    obsolete_models: tuple[str, ...] = ("YSP118-II",)
    #: a finding's rectification deadline, in days after the day it opened, by severity (整改期限)
    rectification_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RECTIFICATION_DAYS))
    #: how far after now an event time may lie (clocks run ahead); later is refused (``domain/event_time.py``)
    event_time_future_tolerance_minutes: int = 60

    def model(self, name: str) -> ModelSpec:
        try:
            return self.models[name]
        except KeyError:
            raise UnknownModel(name, sorted(self.models)) from None

    def is_obsolete(self, model: str, valve_phase: str) -> bool:
        """Of an obsolete model; a dual-phase model converted to single phase by an agency is not."""
        if model not in self.obsolete_models:
            return False
        return not (self.model(model).dual_phase and valve_phase == "single")

    def rectify_by(self, opened_on: date, severity: str) -> date:
        """The rectification deadline of a finding of ``severity`` opened on ``opened_on``."""
        return opened_on + timedelta(days=self.rectification_days[severity])

    def design_life_years_for(self, manufactured_on: date) -> int:
        if manufactured_on >= self.design_life_cutoff:
            return self.design_life_years
        return self.design_life_years_before_cutoff

    def life_expires_on(self, manufactured_on: date) -> date:
        """The anniversary on which the design life is reached (from that day: no fill)."""
        return add_years(manufactured_on, self.design_life_years_for(manufactured_on))

    def next_inspection_due(self, manufactured_on: date, last_passed_on: date | None) -> date:
        return add_years(last_passed_on or manufactured_on, self.inspection_interval_years)


class UnknownModel(ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown cylinder model {name!r}; known models: {', '.join(known)}")
        self.name = name
        self.known = known


class NoPolicy(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """All policy tables; :meth:`at` gives the one in force for a jurisdiction on a day."""

    tables: tuple[Policy, ...]
    #: the answers of :meth:`at` so far (every command asks it, mostly for the same few days)
    _in_force: dict[tuple[str, date], Policy] = field(default_factory=dict, init=False, repr=False, compare=False,
                                                      hash=False)

    def at(self, jurisdiction: str, day: date) -> Policy:
        known = self._in_force.get((jurisdiction, day))
        if known is not None:
            return known
        candidates = [p for p in self.tables if p.jurisdiction == jurisdiction and p.effective_from <= day]
        if not candidates:
            raise NoPolicy(f"no policy for {jurisdiction} in force on {day.isoformat()}")
        policy = self._in_force[(jurisdiction, day)] = max(candidates, key=lambda p: p.effective_from)
        return policy

    @property
    def jurisdictions(self) -> set[str]:
        return {p.jurisdiction for p in self.tables}


class PolicyError(ValueError):
    """A policy table that cannot be used: ``field`` names where (``policy[0].obsolete_models``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _policy_from_table(raw: dict[str, Any], where: str) -> Policy:
    data = dict(raw)
    if "obsolete_models" in data:
        data["obsolete_models"] = _names(data["obsolete_models"], f"{where}.obsolete_models")
    if "rectification_days" in data:
        data["rectification_days"] = _days_by_severity(data["rectification_days"], f"{where}.rectification_days")
    try:
        models = {name: ModelSpec(**spec) for name, spec in data.pop("models", {}).items()}
        policy = Policy(models=models, **data)
    except TypeError as exc:  # a field missing, unknown or misspelt
        raise PolicyError(where, str(exc).removeprefix("Policy.__init__() ")) from None
    unknown = [m for m in policy.obsolete_models if m not in policy.models]
    if unknown:
        raise PolicyError(f"{where}.obsolete_models", f"unknown model {unknown[0]!r}; known models: "
                          f"{', '.join(sorted(policy.models))}")
    return policy


def _days_by_severity(raw: Any, where: str) -> dict[str, int]:
    if not isinstance(raw, dict) or sorted(raw) != sorted(SEVERITIES):
        raise PolicyError(where, f"must give days for each severity: {', '.join(SEVERITIES)}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in raw.values()):
        raise PolicyError(where, "days must be whole numbers, 0 or more")
    return {k: int(raw[k]) for k in SEVERITIES}


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
        raise PolicyError(where, "must be a list of model names")
    return tuple(raw)


def parse_policy_book(text: str) -> PolicyBook:
    """Policy tables from TOML text (pure: the file is read at the edge, ``cylinder_trace.policy``)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError("policy", f"not valid TOML ({exc})") from None
    tables = doc.get("policy", [])
    return PolicyBook(tables=tuple(_policy_from_table(t, f"policy[{i}]") for i, t in enumerate(tables)))
