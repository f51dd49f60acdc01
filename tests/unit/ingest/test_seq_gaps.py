from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain.valves import SeqGaps


def missing_of(stored: set[int]) -> list[list[int]]:
    """The model: every seq from 1 to the highest stored that was not stored, as inclusive ranges."""
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
    gaps = SeqGaps().add([1, 2, 3])
    assert gaps.last_seq == 3 and gaps.missing == ()


def test_a_jump_opens_a_range_and_late_seqs_fill_it() -> None:
    gaps = SeqGaps().add([1, 2, 7])
    assert gaps.missing_json() == [[3, 6]]
    gaps = gaps.add([4])
    assert gaps.missing_json() == [[3, 3], [5, 6]]
    gaps = gaps.add([3, 5, 6])
    assert gaps.missing == () and gaps.last_seq == 7


def test_a_first_seq_above_one_is_a_gap() -> None:
    assert SeqGaps().add([5]).missing_json() == [[1, 4]]


def test_repeats_change_nothing() -> None:
    gaps = SeqGaps().add([1, 3])
    assert gaps.add([1, 3]) == gaps


def test_json_round_trip() -> None:
    gaps = SeqGaps().add([2, 9, 4])
    assert SeqGaps.from_json(gaps.last_seq, gaps.missing_json()) == gaps
    assert gaps.missing_count == 6  # 1, 3, 5-8


@given(st.lists(st.lists(st.integers(1, 60), max_size=12), max_size=8))
def test_any_arrival_order_matches_the_model(batches: list[list[int]]) -> None:
    gaps = SeqGaps()
    stored: set[int] = set()
    for batch in batches:
        gaps = gaps.add(batch)
        stored |= set(batch)
        assert gaps.last_seq == max(stored, default=0)
        assert gaps.missing_json() == missing_of(stored)
