"""Sealing ID numbers: AES-256-GCM with a random nonce; another key or an edited value does not open."""

from __future__ import annotations

import pytest

from cylinder_trace.app.personal_data import PersonalDataCipher, UnreadableSeal, decode_key, is_sealed


def test_a_sealed_value_opens_with_its_key_only() -> None:
    cipher = PersonalDataCipher(bytes(range(32)))
    sealed = cipher.seal("220102199001011234")
    assert is_sealed(sealed) and "220102199001011234" not in sealed
    assert sealed != cipher.seal("220102199001011234")  # a new nonce every time
    assert cipher.open(sealed) == "220102199001011234"
    assert cipher.open("12345678") == "12345678"  # written before sealing existed: as it is
    with pytest.raises(UnreadableSeal):
        PersonalDataCipher(bytes(32)).open(sealed)
    edited = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(UnreadableSeal):
        cipher.open(edited)


def test_keys_are_32_bytes_in_base64() -> None:
    assert decode_key("q" * 43 + "=") and len(decode_key("_" * 43 + "=")) == 32
    for bad in ("short", "not base64 at all!!", "AAAA"):
        with pytest.raises(ValueError, match="32 bytes"):
            decode_key(bad)
