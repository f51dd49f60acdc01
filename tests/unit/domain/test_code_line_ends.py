"""A code, serial or prefix followed by a line end is no code (``$`` would match before a final newline)."""

from __future__ import annotations

import pytest

from cylinder_trace.domain.codes import InvalidCode, make_grai, parse_grai


def test_a_trailing_newline_is_a_bad_character() -> None:
    code = make_grai("6901234", 1, "CYL0001").code
    with pytest.raises(InvalidCode):
        parse_grai(code[:-1] + "\n")
    with pytest.raises(InvalidCode):
        parse_grai(code + "\n")
    with pytest.raises(ValueError):
        make_grai("6901234\n", 1, "CYL0001")
    with pytest.raises(ValueError):
        make_grai("6901234", 1, "CYL0001\n")
