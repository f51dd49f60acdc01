"""产权置换 fees: the table at its anniversaries, and properties over any dates (DOMAIN.md, swaps)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain import swaps
from cylinder_trace.domain.dates import add_years
from cylinder_trace.domain.swaps import branch_for, lines, quote

from .support import AT, POLICY, cylinder

MADE = date(2018, 6, 15)
D = timedelta(days=1)


@pytest.mark.parametrize(("made", "inspected", "on", "branch", "age", "since"), [
    # age > 7 means later than the 7th anniversary: on it the lower branch applies
    (MADE, None, add_years(MADE, 7), "inspection_fee", 7, 7),
    (MADE, None, add_years(MADE, 7) + D, "recycle", 7, 7),
    (MADE, add_years(MADE, 5), add_years(MADE, 7) + D, "recycle", 7, 2),  # age wins over a recent inspection
    # since inspection > 3 years: later than the 3rd anniversary of the last inspection
    (MADE, date(2022, 3, 1), date(2025, 3, 1), "free", 6, 3),
    (MADE, date(2022, 3, 1), date(2025, 3, 2), "inspection_fee", 6, 3),
    # never inspected: counted from manufacture
    (date(2021, 1, 10), None, date(2024, 1, 10), "free", 3, 3),
    (date(2021, 1, 10), None, date(2024, 1, 11), "inspection_fee", 3, 3),
    # 29 February: its anniversaries fall on 28 February
    (date(2016, 2, 29), None, date(2023, 2, 28), "inspection_fee", 7, 7),
    (date(2016, 2, 29), None, date(2023, 3, 1), "recycle", 7, 7),
])
def test_branch_at_the_anniversaries(made: date, inspected: date | None, on: date, branch: str, age: int,
                                     since: int) -> None:
    q = quote(made, inspected, "YSP35.5", on, 2.5, POLICY)
    assert (q.branch, q.age_years, q.years_since_inspection) == (branch, age, since)


def test_the_money_of_each_branch() -> None:
    recycle = quote(MADE, None, "YSP35.5", date(2026, 11, 28), 3.0, POLICY).to_json()
    assert recycle == {"branch": "recycle", "user_pays_cny": 0, "deposit_cny": 200, "company_pays_user_cny": 50,
                       "topup_kg": 3.0, "subsidy_cny": 10, "recycle_price_cny": 50,
                       "basis": {"age_years": 8, "years_since_inspection": 8}}
    priced = quote(MADE, None, "YSP35.5", date(2026, 11, 28), 0, POLICY, recycle_price_cny=65.5)
    assert priced.company_pays_user_cny == 65.5
    fee = quote(date(2021, 1, 10), None, "YSP35.5", date(2026, 1, 1), 1.0, POLICY)
    assert (fee.branch, fee.user_pays_cny, fee.deposit_cny, fee.company_pays_user_cny, fee.subsidy_cny) == (
        "inspection_fee", 70, 0, 0, 0)
    free = quote(date(2024, 1, 10), None, "YSP35.5", date(2026, 1, 1), 0.0, POLICY)
    assert (free.branch, free.user_pays_cny, free.deposit_cny) == ("free", 0, 0)
    assert [line.kind for line in lines(free)] == []
    assert [line.kind for line in lines(quote(MADE, None, "YSP35.5", date(2026, 11, 28), 3.0, POLICY))] == [
        "deposit", "payout", "topup", "subsidy"]


def test_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        quote(MADE, None, "YSP35.5", date(2026, 1, 1), -1, POLICY)
    with pytest.raises(ValueError):
        quote(MADE, None, "YSP35.5", date(2026, 1, 1), 0, POLICY, recycle_price_cny=-5)


days = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))
kg = st.floats(min_value=0, max_value=60, allow_nan=False)
price = st.none() | st.floats(min_value=0, max_value=1000, allow_nan=False)


@given(made=days, inspected_after=st.none() | st.integers(0, 5000), after=st.integers(0, 8000), residual=kg,
       recycle_price=price)
def test_fees_are_never_negative_and_the_deposit_only_recycles(
        made: date, inspected_after: int | None, after: int, residual: float, recycle_price: float | None) -> None:
    inspected = made + timedelta(days=inspected_after) if inspected_after is not None else None
    on = max(made, inspected or made) + timedelta(days=after)
    q = quote(made, inspected, "YSP118", on, residual, POLICY, recycle_price)
    assert min(q.user_pays_cny, q.deposit_cny, q.company_pays_user_cny, q.subsidy_cny, q.topup_kg) >= 0
    assert (q.deposit_cny > 0) == (q.branch == "recycle")
    if q.branch != "recycle":
        assert q.company_pays_user_cny == 0 and q.subsidy_cny == 0
    assert q.user_pays_cny == (POLICY.swap_inspection_fee_cny if q.branch == "inspection_fee" else 0)
    assert q.topup_kg == residual
    assert q.age_years >= 0 and q.years_since_inspection >= 0


@given(made=days, inspected_after=st.none() | st.integers(0, 5000), after=st.integers(0, 8000),
       residual_a=kg, residual_b=kg, price_a=price, price_b=price)
def test_the_branch_is_a_function_of_the_anniversaries_only(
        made: date, inspected_after: int | None, after: int, residual_a: float, residual_b: float,
        price_a: float | None, price_b: float | None) -> None:
    inspected = made + timedelta(days=inspected_after) if inspected_after is not None else None
    on = max(made, inspected or made) + timedelta(days=after)
    a = quote(made, inspected, "YSP35.5", on, residual_a, POLICY, price_a)
    b = quote(made, inspected, "YSP118", on, residual_b, POLICY, price_b)
    expected = ("recycle" if on > add_years(made, 7)
                else "inspection_fee" if on > add_years(inspected or made, 3) else "free")
    assert a.branch == b.branch == expected == branch_for(made, inspected, on, 7, 3)


def test_refund_only_once_and_only_with_a_deposit() -> None:
    swap = swaps.SwapState("s1", "C1", "U1", "OLD", "NEW", "recycle", 200.0, date(2026, 1, 1))
    events = swaps.refund_events(swap, cylinder(status="at_customer"), date(2026, 5, 1), AT)
    assert [e.type for e in events] == ["SwapDepositRefunded", "CylinderCollected"]
    assert events[0].data["amount_cny"] == 200
    refunded = swaps.fold_swap([("SwapExecuted", {"swap_id": "s1", "company_id": "C1", "customer_id": "U1",
                                                  "old_code": "OLD", "new_code": "NEW", "branch": "recycle",
                                                  "deposit_cny": 200, "day": "2026-01-01"}),
                                (events[0].type, events[0].data)])
    assert refunded is not None and refunded.refunded_on == date(2026, 5, 1)
    with pytest.raises(swaps.RefundRefused):
        swaps.refund_events(refunded, cylinder(status="at_customer"), date(2026, 5, 2), events[0].occurred_at)
    free = swaps.SwapState("s2", "C1", "U1", "OLD", "NEW", "free", 0.0, date(2026, 1, 1))
    with pytest.raises(swaps.RefundRefused):
        swaps.refund_events(free, cylinder(status="at_customer"), date(2026, 5, 2), events[0].occurred_at)
