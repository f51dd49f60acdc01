"""Pure mapping from our events to EPCIS 2.0 ObjectEvents.

CBV 2.0 vocabulary where it fits; where it does not (filling, delivering to a household, fitting a smart
valve, 产权置换), a URN of our own, which the standard allows as a non-CBV URI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from ..domain import events as ev

EPCIS_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CT_NAMESPACE: Final = "https://ns.cylinder-trace.dev/epcis/"
OUR_VOCAB: Final = "urn:cylinder-trace:cbv"

Action = Literal["ADD", "OBSERVE", "DELETE"]


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    biz_step: str
    disposition: str


def _ours(kind: str, name: str) -> str:
    return f"{OUR_VOCAB}:{kind}:{name}"


#: the EPCIS reading of each of our events that is a physical step (an inspection that did not pass is
#: ``non_conformant``: :func:`step_for`)
STEPS: Final[Mapping[str, Step]] = {
    ev.CYLINDER_REGISTERED: Step("ADD", "commissioning", "active"),
    ev.CYLINDER_FILLED: Step("OBSERVE", _ours("bizstep", "filling"), "sellable_accessible"),
    ev.CYLINDER_DELIVERED: Step("OBSERVE", _ours("bizstep", "delivering"), "active"),
    ev.CYLINDER_COLLECTED: Step("OBSERVE", "collecting", "returned"),
    ev.CYLINDER_INSPECTED: Step("OBSERVE", "inspecting", "conformant"),
    ev.SMART_VALVE_FITTED: Step("OBSERVE", _ours("bizstep", "valve_fitting"), "active"),
    ev.CYLINDER_SEIZED: Step("OBSERVE", "holding", "non_sellable_other"),
    ev.CYLINDER_SCRAPPED: Step("DELETE", "destroying", "destroyed"),
}
#: the event types that have an EPCIS reading (for queries)
MAPPED_TYPES: Final = tuple(STEPS)


def step_for(event_type: str, data: dict[str, Any]) -> Step | None:
    """The EPCIS reading of one of our events; None for events that are not physical steps."""
    step = STEPS.get(event_type)
    if step is not None and event_type == ev.CYLINDER_INSPECTED and data.get("result") != "pass":
        return replace(step, disposition="non_conformant")
    return step


def biz_steps_for_query(biz_step: str) -> list[str]:
    """Our event types whose bizStep is ``biz_step`` (a CBV word or one of our URNs)."""
    return [event_type for event_type, step in STEPS.items() if step.biz_step == biz_step]


def _offset(moment: datetime, timezone: str) -> tuple[str, str]:
    """The time in the jurisdiction's zone, and its offset. A time stored before event times were checked
    (``domain/event_time.py``) may lie off the calendar there: it is written in UTC instead."""
    try:
        local = moment.astimezone(ZoneInfo(timezone))
    except OverflowError:
        local = moment.astimezone(UTC)
    text = local.isoformat(timespec="milliseconds")
    return text, text[-6:]


def _place(data: dict[str, Any]) -> str | None:
    for key, kind in (("station_id", "station"), ("agency_id", "agency")):
        if data.get(key):
            return f"urn:cylinder-trace:{kind}:{data[key]}"
    return None


def object_event(
    *,
    epc: str,
    event_id: str,
    event_type: str,
    data: dict[str, Any],
    occurred_at: datetime,
    recorded_at: datetime,
    event_hash: str,
    timezone: str,
) -> dict[str, Any] | None:
    step = step_for(event_type, data)
    if step is None:
        return None
    event_time, offset = _offset(occurred_at, timezone)
    record_time, _ = _offset(recorded_at, timezone)
    out: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{event_id}",
        "eventTime": event_time,
        "eventTimeZoneOffset": offset,
        "recordTime": record_time,
        "epcList": [epc],
        "action": step.action,
        "bizStep": step.biz_step,
        "disposition": step.disposition,
        "ct:eventType": event_type,
        "ct:hash": event_hash,
    }
    place = _place(data)
    if place is not None:
        # stations and agencies only: nothing about a customer leaves through this export
        out["readPoint"] = {"id": place}
    return out


def query_document(
    events: list[dict[str, Any]], created: datetime, query_name: str = "SimpleEventQuery"
) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT, {"ct": CT_NAMESPACE}],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": created.isoformat(timespec="milliseconds"),
        "epcisBody": {"queryResults": {"queryName": query_name, "resultsBody": {"eventList": events}}},
    }
