from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cylinder_trace.domain.codes import (
    InvalidCode,
    code_from_scan,
    gs1_check_digit,
    is_valid_code,
    make_grai,
    parse_epc_uri,
    parse_grai,
)

prefixes = st.from_regex(r"\A[0-9]{6,12}\Z")
serials = st.from_regex(r"\A[A-Za-z0-9]{1,16}\Z")
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@st.composite
def grais(draw: st.DrawFn) -> tuple[str, int, str]:
    prefix = draw(prefixes)
    width = 12 - len(prefix)
    asset = draw(st.integers(0, 10**width - 1)) if width else 0
    return prefix, asset, draw(serials)


def test_the_domain_example() -> None:
    grai = make_grai("6901234", 1, "CYL0001")
    assert grai.code == "06901234000016CYL0001"
    assert grai.epc_uri(7) == "urn:epc:id:grai:6901234.00001.CYL0001"
    assert grai.digital_link("https://ct.example/") == "https://ct.example/8003/06901234000016CYL0001"


def test_check_digit_matches_gs1_reference() -> None:
    # GTIN-13 4006381333931 has check digit 1 over its first 12 digits (GS1 example)
    assert gs1_check_digit("400638133393") == 1


@given(grais())
def test_make_then_parse_round_trips(parts: tuple[str, int, str]) -> None:
    prefix, asset, serial = parts
    grai = make_grai(prefix, asset, serial)
    assert parse_grai(grai.code) == grai
    assert code_from_scan(grai.digital_link("http://h:8000")) == grai
    epc = grai.epc_uri(len(prefix))
    assert epc == f"urn:epc:id:grai:{prefix}.{grai.head[1 + len(prefix) :]}.{serial}"
    assert parse_epc_uri(epc) == (grai, len(prefix))


@given(grais(), st.data())
def test_every_single_character_change_in_the_digits_is_caught(
    parts: tuple[str, int, str], data: st.DataObject
) -> None:
    code = make_grai(*parts).code
    index = data.draw(st.integers(0, 13))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != code[index]]))
    changed = code[:index] + replacement + code[index + 1 :]
    assert not is_valid_code(changed)


@given(grais(), st.data())
def test_any_bad_character_is_caught(parts: tuple[str, int, str], data: st.DataObject) -> None:
    code = make_grai(*parts).code
    index = data.draw(st.integers(0, len(code) - 1))
    bad = data.draw(st.characters().filter(lambda ch: ch not in ALPHABET))
    with pytest.raises(InvalidCode):
        parse_grai(code[:index] + bad + code[index + 1 :])


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("06901234000017CYL0001", "check digit"),
        ("0690123400001", "too short"),
        ("16901234000016CYL0001", "starts with 0"),
        ("06901234000016CYL-0001", "serial"),
        ("06901234000016" + "A" * 17, "too long"),
        ("0690123400001XCYL0001", "digits"),
    ],
)
def test_rejections_say_why(code: str, reason: str) -> None:
    with pytest.raises(InvalidCode) as info:
        parse_grai(code)
    assert reason in info.value.reason


def test_a_foreign_url_is_not_a_code() -> None:
    with pytest.raises(InvalidCode):
        code_from_scan("https://example.com/01/09506000134352")
