"""Event types and the shape of an event the core decides on.

Events are versioned payloads: the ``type`` names what happened, ``data`` holds plain JSON values.
The store adds ids, versions, record time and the hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

CYLINDER_REGISTERED: Final = "CylinderRegistered"
CYLINDER_FILLED: Final = "CylinderFilled"
CYLINDER_DELIVERED: Final = "CylinderDelivered"
CYLINDER_COLLECTED: Final = "CylinderCollected"
CYLINDER_INSPECTED: Final = "CylinderInspected"
SMART_VALVE_FITTED: Final = "SmartValveFitted"
CYLINDER_SEIZED: Final = "CylinderSeized"
CYLINDER_SCRAPPED: Final = "CylinderScrapped"
#: 产权置换: the user's cylinder passes to the company; the company's cylinder goes to the user
CYLINDER_SWAPPED_OUT: Final = "CylinderSwappedOut"
CYLINDER_SWAPPED_IN: Final = "CylinderSwappedIn"
#: an in-home safety check outside a delivery, on the stream ``safety-checks:<customer_id>``
SAFETY_CHECK_RECORDED: Final = "SafetyCheckRecorded"
#: a fill check saw a cylinder that must not be on the market at all (evidence, nothing refused)
FILL_CHECK_FLAGGED: Final = "FillCheckFlagged"
#: a scan without a station saw a scrapped cylinder again (evidence, on the cylinder's stream)
SCAN_FLAGGED: Final = "ScanFlagged"
#: a public report (举报), on the stream ``report:<id>``
PUBLIC_REPORT_RECEIVED: Final = "PublicReportReceived"
#: one run of the absence-of-event rules, carrying the violations it newly found, on :data:`SWEEP_STREAM`
SWEEP_COMPLETED: Final = "SweepCompleted"
SWEEP_STREAM: Final = "sweeps"

REGISTRY_ENTRY_CREATED: Final = "RegistryEntryCreated"
REGISTRY_ENTRY_CHANGED: Final = "RegistryEntryChanged"
#: registry fields kept out of the events (and so out of the log, its exports and its replicas), by kind:
#: a registry event carries the SHA-256 of a value set or changed (``secrets``), the value itself is kept
#: in the ``registry_secrets`` table
REGISTRY_SECRET_FIELDS: Final[dict[str, tuple[str, ...]]] = {"valve": ("secret",)}

#: suffix of every refusal event (``FillRefused``, ``DeliveryRefused``, …): refusals are evidence
REFUSED_SUFFIX: Final = "Refused"


#: the noun each action's refusal is named after
_ACTION_NOUNS: Final[dict[str, str]] = {
    "fill": "Fill",
    "deliver": "Delivery",
    "collect": "Collection",
    "inspect": "Inspection",
    "fit_valve": "ValveFitting",
    "seize": "Seizure",
    "scrap": "Scrapping",
    "swap_out": "Swap",
    "swap_in": "Swap",
}


def refusal_type(action: str) -> str:
    """``fill`` → ``FillRefused``, ``deliver`` → ``DeliveryRefused``."""
    noun = _ACTION_NOUNS.get(action) or "".join(part.capitalize() for part in action.split("_"))
    return noun + REFUSED_SUFFIX


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event decided by the core, before the store records it."""

    type: str
    data: dict[str, Any]
    occurred_at: datetime
    stream_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def cylinder_stream(code: str) -> str:
    return f"cylinder:{code}"


def registry_stream(kind: str, entry_id: str) -> str:
    return f"{kind}:{entry_id}"
