"""Canonical JSON is what ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
writes, whichever library writes it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain.canonical import canonical_json

scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text() | st.floats(
    allow_nan=False, allow_infinity=False) | st.sampled_from([1e-4, 9.9999e-5, 1e16, 9999999999999998.0, -0.0, 0.0])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner,
                                                                                            max_size=5), max_leaves=30)


def reference(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@given(values)
def test_canonical_json_is_the_standard_librarys(obj: Any) -> None:
    assert canonical_json(obj) == reference(obj)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"x": [1.0, math.nan]}])
def test_nan_and_infinity_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        canonical_json(bad)


def test_a_lone_surrogate_is_written_as_the_standard_library_writes_it() -> None:
    assert canonical_json({"s": "\ud800"}) == reference({"s": "\ud800"})
