"""The per-stream hash chain (DOMAIN.md, Tamper evidence), checked over events as the history endpoint
writes them: anyone holding a history can run this without the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .canonical import ZERO_HASH, chain_hash

#: the fields of an event its hash covers, in the history endpoint's JSON
HASHED_FIELDS: Final = ("event_id", "stream_id", "version", "type", "occurred_at", "recorded_at", "actor", "data")


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One event as the chain sees it: its version, the hashes it carries and the body they cover."""

    version: int
    prev_hash: str
    hash: str
    body: dict[str, Any]

    @classmethod
    def from_json(cls, event: Mapping[str, Any]) -> ChainLink:
        """From an event of a history (KeyError names a missing field)."""
        return cls(event["version"], event["prev_hash"], event["hash"], {k: event[k] for k in HASHED_FIELDS})


@dataclass(frozen=True, slots=True)
class ChainReport:
    valid: bool
    count: int
    head_hash: str
    first_bad_version: int | None = None
    reason: str | None = None


def check_chain(links: Sequence[ChainLink]) -> ChainReport:
    """Recompute the hash chain: any edited, deleted or reordered event breaks it."""
    prev = ZERO_HASH
    for expected_version, e in enumerate(links, start=1):
        if e.version != expected_version:
            return ChainReport(False, len(links), prev, e.version, f"version {expected_version} is missing")
        if e.prev_hash != prev:
            return ChainReport(False, len(links), prev, e.version, "prev_hash does not match the chain")
        if chain_hash(prev, e.body) != e.hash:
            return ChainReport(False, len(links), prev, e.version, "the event's content does not match its hash")
        prev = e.hash
    return ChainReport(True, len(links), prev)
