"""The same scenario under two policies gets each one's numbers: every number is policy data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest

from cylinder_trace.domain import decide
from cylinder_trace.domain.commands import RegisterCylinder
from cylinder_trace.domain.cylinder import apply
from cylinder_trace.domain.policy import Policy, PolicyError, parse_policy_book
from cylinder_trace.domain.rules import delivery, fill, subsidies
from cylinder_trace.domain.rules.catalogue import CATALOGUE
from cylinder_trace.domain.swaps import quote
from cylinder_trace.policy import PolicyFileError, load_policy_book

from .support import cylinder, delivery_ctx, restaurant

TOWN = load_policy_book().at("CN-JL-DAGANGZI", date(2026, 6, 20))
_DEFAULT_TOML = resources.files("cylinder_trace.policy").joinpath("default.toml").read_text(encoding="utf-8")
STRICTER_TOML = (_DEFAULT_TOML.replace('jurisdiction = "CN-JL-DAGANGZI"', 'jurisdiction = "CN-XX-OTHER"')
                 .replace("inspection_interval_years = 4", "inspection_interval_years = 3")
                 .replace("swap_recycle_age_years = 7", "swap_recycle_age_years = 8")
                 .replace("swap_fee_since_inspection_years = 3", "swap_fee_since_inspection_years = 2")
                 .replace("swap_inspection_fee_cny = 70", "swap_inspection_fee_cny = 80")
                 .replace("swap_deposit_cny = 200", "swap_deposit_cny = 300")
                 .replace("storage_limit_kg = 100.0", "storage_limit_kg = 150.0")
                 .replace("hazard_rectify_days = 7", "hazard_rectify_days = 3")
                 .replace("subsidy_smart_valve_cny = 30", "subsidy_smart_valve_cny = 40"))
OTHER = parse_policy_book(STRICTER_TOML).at("CN-XX-OTHER", date(2026, 6, 20))
ON = date(2026, 6, 20)


def scenario(policy: Policy) -> dict[str, object]:
    """Register a cylinder, check a fill, quote a swap, deliver to a restaurant, find a hazard, fit a valve."""
    cmd = RegisterCylinder("06999999000045CYL1", 7, "CYL1", "YSP35.5", "M", date(2023, 6, 1), "C1", None, None,
                           15.0, datetime(2023, 6, 1, tzinfo=UTC))
    event = decide.register(cmd, policy).events[0]
    state = apply(None, event.type, event.data, 1)
    assert state is not None
    ctx = fill.StateContext(ON, policy)
    swap = quote(date(2018, 7, 1), None, "YSP35.5", ON, 1.5, policy)
    storage = delivery.storage_over_limit(
        cylinder(model="YSP118"),
        replace(delivery_ctx(policy=policy), customer=restaurant(), held_models=("YSP118", "YSP118")))
    hazard = delivery.hazards_found(restaurant(), [{"kind": "hose"}], ON, policy)[0]
    valve = subsidies.smart_valve(state, ON, policy, subsidies.EarnedBefore())
    return {
        "next_due": state.next_inspection_due.isoformat(),
        "fill": [v.rule for v in fill.state_violations(state, ctx)],
        "branch": swap.branch, "user_pays": swap.user_pays_cny, "deposit": swap.deposit_cny,
        "storage": [v.rule for v in storage],
        "hazard_due": hazard.detail["due_on"],
        "valve_subsidy": valve.amount_cny if isinstance(valve, subsidies.Subsidy) else None,
    }


@pytest.mark.parametrize(("policy", "expected"), [
    (TOWN, {"next_due": "2027-06-01", "fill": [], "branch": "recycle", "user_pays": 0, "deposit": 200,
            "storage": ["DELIVERY_STORAGE_OVER_100KG"], "hazard_due": "2026-06-27", "valve_subsidy": 30}),
    (OTHER, {"next_due": "2026-06-01", "fill": ["FILL_OVERDUE_INSPECTION"], "branch": "inspection_fee",
             "user_pays": 80, "deposit": 0, "storage": [], "hazard_due": "2026-06-23", "valve_subsidy": 40}),
])
def test_each_policy_gets_its_own_numbers(policy: Policy, expected: dict[str, object]) -> None:
    assert scenario(policy) == expected


def test_the_catalogue_holds_every_rule_of_the_domain_with_its_severity() -> None:
    expected = {
        "FILL_OVERDUE_INSPECTION": "block", "FILL_LIFE_EXPIRED": "block", "FILL_DUAL_PHASE_VALVE": "block",
        "FILL_NOT_OWNED": "block", "FILL_SCRAPPED": "block", "FILL_SEIZED": "block", "FILL_UNQUALIFIED": "block",
        "FILL_UNKNOWN_CODE": "block", "FILL_NO_SMART_VALVE": "block", "FILL_STATION_UNLICENSED": "block",
        "FILL_FILLER_UNCERTIFIED": "block", "FILL_OVERFILL": "block", "DELIVERY_NO_REAL_NAME": "block",
        "DELIVERY_NO_CONTRACT": "block", "DELIVERY_WORKER_UNCERTIFIED": "block",
        "DELIVERY_VEHICLE_UNPERMITTED": "block", "DELIVERY_SELF_PICKUP": "block",
        "DELIVERY_SUPPLY_SUSPENDED": "block", "DELIVERY_NO_GAS_ALARM": "block", "DELIVERY_UNDERGROUND": "block",
        "DELIVERY_DUAL_PHASE": "block", "DELIVERY_STORAGE_OVER_100KG": "block", "DELIVERY_NOT_FILLABLE": "block",
        "SAFETY_CHECK_MISSING": "high", "HAZARD_FOUND": "high", "VALVE_ILLEGAL_REFILL": "high",
        "VALVE_FILL_UNCONFIRMED": "warn", "VALVE_FILL_UNRECORDED": "high", "VALVE_TAMPER": "high",
        "VALVE_LEAK": "high", "VALVE_OFFLINE": "warn", "SCRAPPED_CYLINDER_REAPPEARED": "high",
        "LIFECYCLE_INVALID_TRANSITION": "block", "SAFETY_CHECK_OVERDUE": "high", "PUBLIC_REPORT": "high",
        "DELIVERY_NO_EMERGENCY_SHUTOFF": "block", "INSPECTION_AGENCY_UNLICENSED": "block",
        "SCRAP_NOT_BY_AGENCY": "high", "STOCK_OVERDUE_INSPECTION": "high",
    }
    assert {code: CATALOGUE[code].severity for code in expected} == expected
    assert CATALOGUE["FILL_UNKNOWN_CODE"].ledger_severity == "high"
    assert all(r.zh and r.en for r in CATALOGUE.values())


@pytest.mark.parametrize(("change", "field", "says"), [
    (('obsolete_models = ["YSP118-II"]', 'obsolete_models = ["YSP118-II", "YSP999"]'), "policy[0].obsolete_models",
     "YSP999"),
    (('obsolete_models = ["YSP118-II"]', 'obsolete_models = "YSP118-II"'), "policy[0].obsolete_models", "list"),
    (("storage_limit_kg = 100.0", "storage_limit_kgs = 100.0"), "policy[0]", "storage_limit_kgs"),
    (("storage_limit_kg = 100.0", "storage_limit_kg ="), "policy", "TOML"),
])
def test_an_unusable_policy_names_the_field(change: tuple[str, str], field: str, says: str) -> None:
    assert change[0] in _DEFAULT_TOML
    with pytest.raises(PolicyError) as refused:
        parse_policy_book(_DEFAULT_TOML.replace(*change))
    assert refused.value.field == field and says in str(refused.value)


def test_a_policy_file_without_the_newer_fields_gets_the_towns_defaults(tmp_path: Path) -> None:
    older = "\n".join(line for line in _DEFAULT_TOML.splitlines() if not line.startswith("obsolete_models"))
    path = tmp_path / "policy.toml"
    path.write_text(older, encoding="utf-8")
    assert load_policy_book(path).at("CN-JL-DAGANGZI", ON).obsolete_models == ("YSP118-II",)
    with pytest.raises(PolicyFileError) as refused:
        load_policy_book(tmp_path / "missing.toml")
    assert "missing.toml" in str(refused.value)
