"""Canonical JSON, as PROTOCOL.md and DOMAIN.md (Tamper evidence) define it.

Keys sorted at every level, separators ``,`` and ``:``, no whitespace, non-ASCII written as itself,
numbers as Python's ``json.dumps`` writes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import orjson

ZERO_HASH = "0" * 64
#: one encoder for every call (``json.dumps`` with options builds a new one each time); it keeps no state
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _orjson_writes_it_alike(obj: Any) -> bool:
    """True when orjson's text of ``obj`` is the canonical one as far as a look at its values tells: only
    JSON types, and floats that are zero or between 1e-4 and 1e16 (outside that range the two libraries
    write exponents differently; NaN and infinities fail the test too). What orjson refuses itself —
    integers beyond 64 bits, keys that are not strings — falls back in :func:`canonical_json`."""
    stack = [obj]
    pop, extend = stack.pop, stack.extend
    while stack:
        value = pop()
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            continue
        if kind is float:
            if value != 0 and not 1e-4 <= abs(value) < 1e16:
                return False
        elif kind is dict:
            extend(value.values())
        elif kind is list or kind is tuple:
            extend(value)
        else:
            return False
    return True


def canonical_json(obj: Any) -> str:
    """Keys sorted at every level, separators ``,`` ``:``, non-ASCII as itself, numbers as ``json.dumps``
    writes them. orjson writes it where its text is the same (several times faster), the standard
    library elsewhere (and refuses NaN and infinities)."""
    if _orjson_writes_it_alike(obj):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # a big integer, a key not a string, a lone surrogate, too deep: as json has it
            pass
    return _CANONICAL.encode(obj)


def canonical_bytes(obj: Any) -> bytes:
    return canonical_json(obj).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chain_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical(event))`` over UTF-8 bytes, lowercase hex."""
    return sha256_hex(prev_hash.encode("ascii") + canonical_bytes(event))


def hmac_hex(secret: bytes, obj: dict[str, Any]) -> str:
    """HMAC-SHA256 of the canonical form of ``obj`` without its ``mac`` key."""
    body = {k: v for k, v in obj.items() if k != "mac"}
    return hmac.digest(secret, canonical_bytes(body), "sha256").hex()


def mac_matches(secret: bytes, obj: dict[str, Any]) -> bool:
    mac = obj.get("mac")
    return isinstance(mac, str) and hmac.compare_digest(mac, hmac_hex(secret, obj))


def body_mac_matches(secret: bytes, body: dict[str, Any], mac: str) -> bool:
    """:func:`mac_matches` for a body already without its ``mac`` (no copy of it to make)."""
    expected = hmac.digest(secret, canonical_bytes(body), "sha256").hex()
    return hmac.compare_digest(mac.encode("utf-8"), expected.encode("ascii"))


def format_ts(moment: datetime) -> str:
    """Timestamps as the history endpoint (and so the hash chain) writes them: UTC, microseconds."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every timestamp must carry its offset")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
