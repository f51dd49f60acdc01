from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain.valves import missing_ranges


def model(stored: set[int]) -> list[list[int]]:
    """Every seq from 1 to the highest stored that was not stored, as inclusive ranges."""
    out: list[list[int]] = []
    for seq in range(1, max(stored, default=0) + 1):
        if seq in stored:
            continue
        if out and out[-1][1] == seq - 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


def test_in_order_leaves_no_gaps() -> None:
    assert missing_ranges([1, 2, 3]) == []


def test_jumps_late_arrivals_and_a_late_start() -> None:
    assert missing_ranges([1, 2, 7]) == [[3, 6]]
    assert missing_ranges([1, 2, 7, 4]) == [[3, 3], [5, 6]]
    assert missing_ranges([5]) == [[1, 4]]
    assert missing_ranges([]) == []
    assert missing_ranges([3, 3, 1]) == [[2, 2]]


@given(st.sets(st.integers(1, 200), max_size=60))
def test_any_set_matches_the_model(stored: set[int]) -> None:
    assert missing_ranges(stored) == model(stored)
