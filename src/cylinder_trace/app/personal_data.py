"""Personal data at rest: ID numbers (a customer's, a hand-in person's) are kept sealed with AES-256-GCM.

A sealed value is text, ``pd1:`` followed by the URL-safe base64 of a random 12-byte nonce and the
ciphertext with its tag; the associated data names the purpose, so a value sealed for one use does not
open as another. Events hold the sealed value: the hash chain covers exactly what is stored, so a
history stays verifiable while the plain number never enters the log, the projections or a backup. The
key comes from the settings (``CT_PERSONAL_DATA_KEY``, 32 bytes in base64); values written before
sealing existed stay as they were (the log is append-only) and are masked all the same.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX: Final = "pd1:"
_NONCE_BYTES: Final = 12
_PURPOSE: Final = b"cylinder-trace personal data v1"


class UnreadableSeal(ValueError):
    """A sealed value that this key does not open (another key, or an edited value)."""


def decode_key(text: str) -> bytes:
    """The 32-byte key from its base64 text (standard or URL-safe); ValueError when it is not one."""
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)") from None
    if len(key) != 32:
        raise ValueError(f"must be 32 bytes in base64, not {len(key)} bytes")
    return key


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class PersonalDataCipher:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plain: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode("utf-8"), _PURPOSE)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str) -> str:
        """The plain value of a sealed one; a value that is not sealed (written before) as it is."""
        if not is_sealed(value):
            return value
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX):].encode("ascii"))
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _PURPOSE).decode("utf-8")
        except (InvalidTag, ValueError, UnicodeError):
            raise UnreadableSeal("a sealed value this key does not open") from None
