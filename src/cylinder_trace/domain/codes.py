"""一瓶一码: GS1 GRAI codes (AI 8003) for cylinders.

A GRAI here is ``0`` + company prefix + asset type (12 digits together) + the GS1 mod-10 check digit
+ a serial of 1–16 characters ``A-Z a-z 0-9``. Example: ``06901234000016CYL0001``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

SERIAL_RE = re.compile(r"^[A-Za-z0-9]{1,16}\Z")
PREFIX_RE = re.compile(r"^[0-9]{6,12}\Z")

#: asset type number by cylinder model (DOMAIN.md, Codes)
ASSET_TYPE_BY_MODEL: dict[str, int] = {
    "YSP4.7": 1,
    "YSP12": 2,
    "YSP26.2": 3,
    "YSP35.5": 4,
    "YSP118": 5,
    "YSP118-II": 6,
}


class InvalidCode(ValueError):
    """A code that is not a well-formed GRAI; ``reason`` says what is wrong."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code!r} is not a valid cylinder code: {reason}")
        self.code = code
        self.reason = reason


def gs1_check_digit(digits: str) -> int:
    """GS1 mod-10 check digit: weights 3,1,3,… from the rightmost digit."""
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("check digit needs ASCII digits")
    backwards = digits[::-1]
    total = 3 * sum(map(int, backwards[0::2])) + sum(map(int, backwards[1::2]))
    return (10 - total % 10) % 10


@dataclass(frozen=True, slots=True)
class Grai:
    """A parsed GRAI. ``head`` is the 13 digits before the check digit."""

    head: str
    check: int
    serial: str

    @property
    def code(self) -> str:
        return f"{self.head}{self.check}{self.serial}"

    def epc_uri(self, prefix_length: int) -> str:
        """``urn:epc:id:grai:<prefix>.<asset type>.<serial>``; the prefix length is the company's."""
        if not 6 <= prefix_length <= 12:
            raise ValueError("a GS1 company prefix has 6 to 12 digits")
        body = self.head[1:]
        return f"urn:epc:id:grai:{body[:prefix_length]}.{body[prefix_length:]}.{self.serial}"

    def digital_link(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/8003/{self.code}"


@functools.lru_cache(maxsize=65536)
def make_grai(company_prefix: str, asset_type: int, serial: str) -> Grai:
    if not PREFIX_RE.match(company_prefix):
        raise ValueError("a GS1 company prefix is 6 to 12 digits")
    width = 12 - len(company_prefix)
    asset = str(asset_type).zfill(width) if width else ""
    if asset_type < 0 or len(asset) > width or (width == 0 and asset_type != 0):
        raise ValueError(f"asset type {asset_type} does not fit in {width} digits")
    if not SERIAL_RE.match(serial):
        raise ValueError("a serial is 1 to 16 characters of A-Z a-z 0-9")
    head = "0" + company_prefix + asset
    return Grai(head=head, check=gs1_check_digit(head), serial=serial)


@functools.lru_cache(maxsize=65536)
def parse_grai(code: str) -> Grai:
    """Parse and validate a bare GRAI; raises :class:`InvalidCode` naming what is wrong. (Codes come back
    often — a cylinder's code in every command about it — so parsed ones are remembered.)"""
    if not isinstance(code, str) or not code:
        raise InvalidCode(str(code), "empty")
    if len(code) < 15:
        raise InvalidCode(code, f"too short ({len(code)} characters, at least 15)")
    if len(code) > 30:
        raise InvalidCode(code, f"too long ({len(code)} characters, at most 30)")
    head, check, serial = code[:13], code[13], code[14:]
    if not (head.isascii() and head.isdigit()) or not (check.isascii() and check.isdigit()):
        raise InvalidCode(code, "the first 14 characters must be digits")
    if head[0] != "0":
        raise InvalidCode(code, "a GRAI starts with 0")
    if not SERIAL_RE.match(serial):
        raise InvalidCode(code, "the serial may only hold A-Z a-z 0-9")
    expected = gs1_check_digit(head)
    if int(check) != expected:
        raise InvalidCode(code, f"wrong check digit {check} (expected {expected})")
    return Grai(head=head, check=expected, serial=serial)


def code_from_scan(text: str) -> Grai:
    """Read a code from QR content: our Digital Link URL (``…/8003/<GRAI>``) or a bare GRAI."""
    text = text.strip()
    if "://" in text:
        parts = [p for p in urlsplit(text).path.split("/") if p]
        if len(parts) >= 2 and parts[-2] == "8003":
            return parse_grai(parts[-1])
        raise InvalidCode(text, "not a GS1 Digital Link with AI 8003")
    return parse_grai(text)


def is_valid_code(code: str) -> bool:
    try:
        parse_grai(code)
    except InvalidCode:
        return False
    return True


EPC_PREFIX = "urn:epc:id:grai:"


def parse_epc_uri(epc: str) -> tuple[Grai, int]:
    """``urn:epc:id:grai:6901234.00001.CYL0001`` → the GRAI and its company prefix length."""
    if not epc.startswith(EPC_PREFIX):
        raise InvalidCode(epc, "not a GRAI EPC URI (urn:epc:id:grai:…)")
    parts = epc.removeprefix(EPC_PREFIX).split(".")
    if len(parts) != 3:
        raise InvalidCode(epc, "a GRAI EPC URI has prefix.assettype.serial")
    prefix, asset, serial = parts
    if not PREFIX_RE.match(prefix) or len(prefix) + len(asset) != 12 or not (asset == "" or asset.isdigit()):
        raise InvalidCode(epc, "company prefix and asset type must be 12 digits together")
    try:
        return make_grai(prefix, int(asset or "0"), serial), len(prefix)
    except ValueError as exc:
        raise InvalidCode(epc, str(exc)) from None
