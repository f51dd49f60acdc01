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

ZERO_HASH = "0" * 64
#: one encoder for every call (``json.dumps`` with options builds a new one each time); it keeps no state
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(obj: Any) -> str:
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
