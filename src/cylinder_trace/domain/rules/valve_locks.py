"""Which events lock a cylinder's smart valve, and what the valve is told (PROTOCOL.md: ``lock``).

* a seizure or a scrapping locks the valve fitted just before it;
* a sweep's finding that a cylinder at a customer is overdue for inspection or past its service life
  locks the valve fitted to that cylinder now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .. import events as ev
from . import catalogue

#: events whose cylinder's valve is locked
LOCKING_EVENT_TYPES: Final = frozenset({ev.CYLINDER_SEIZED, ev.CYLINDER_SCRAPPED})
#: sweep findings whose cylinder must stay locked, and the reason the valve is told
LOCKING_RULES: Final = {
    catalogue.OVERDUE_AT_CUSTOMER.code: "cylinder overdue for inspection",
    catalogue.LIFE_EXPIRED_AT_CUSTOMER.code: "cylinder past its service life",
}
#: the longest reason a ``lock`` command carries
MAX_REASON: Final = 200


@dataclass(frozen=True, slots=True)
class LockFinding:
    """A sweep finding that locks the valve of the cylinder ``code``."""

    code: str
    reason: str


def event_lock_reason(event_type: str, data: Mapping[str, Any]) -> str | None:
    """What the valve is told when its cylinder is seized or scrapped (None: the event locks nothing)."""
    if event_type not in LOCKING_EVENT_TYPES:
        return None
    what = "seized" if event_type == ev.CYLINDER_SEIZED else "scrapped"
    detail = str(data.get("reason") or "").strip()
    return (f"cylinder {what}: {detail}" if detail else f"cylinder {what}")[:MAX_REASON]


def finding_lock(violation: Mapping[str, Any]) -> LockFinding | None:
    """The lock a sweep's finding (a violation as stored, ``Violation.to_json``) calls for, if any."""
    reason = LOCKING_RULES.get(str(violation.get("rule")))
    kind, _, code = str(violation.get("subject", "")).partition(":")
    if reason is None or kind != "cylinder" or not code:
        return None
    detail = violation.get("detail") or {}
    due = detail.get("due_on") or detail.get("life_expires_on")
    return LockFinding(code, (f"{reason} ({due})" if due else reason)[:MAX_REASON])
