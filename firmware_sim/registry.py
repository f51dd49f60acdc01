"""Per-valve secrets from a seed, so the service can be told which valves exist and their keys.

``secret = sha256(seed + valve_id)`` (UTF-8), 32 bytes. Fine for a simulator and for tests; real valves
get random secrets at the factory.
"""

from __future__ import annotations

import hashlib

from cylinder_trace.mqtt.protocol import is_valid_valve_id

DEFAULT_SEED = "dev-valve-seed"


def derive_secret(seed: str, valve_id: str) -> bytes:
    return hashlib.sha256((seed + valve_id).encode("utf-8")).digest()


def valve_ids(count: int, prefix: str = "V", start: int = 1) -> list[str]:
    """``V0000001``, ``V0000002``, … (seven digits, as in PROTOCOL.md's example)."""
    ids = [f"{prefix}{n:07d}" for n in range(start, start + count)]
    bad = [v for v in ids[:1] + ids[-1:] if not is_valid_valve_id(v)]
    if bad:
        raise ValueError(f"prefix {prefix!r} gives invalid valve ids such as {bad[0]!r}")
    return ids


def registry(seed: str, ids: list[str]) -> list[dict[str, str]]:
    """``[{"valve_id": ..., "secret": <64 hex>}, ...]``: what the service needs to verify these valves."""
    return [{"valve_id": v, "secret": derive_secret(seed, v).hex()} for v in ids]
