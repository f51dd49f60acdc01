"""A cylinder's history as a timeline a person reads: for each event what happened, who did it, where,
when, and for a refusal every broken rule with its message. Pure: it takes the events as the history
reader returns them (``RecordedEvent.to_json``), already masked for the caller."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..domain import events as ev
from ..domain.findings import violations_in
from ..domain.valves import VALVE_FILL_UNMATCHED, VALVE_REPORTED

#: event type → the kind of step, which also names its style on the page
KINDS: Final[dict[str, str]] = {
    ev.CYLINDER_REGISTERED: "registered",
    ev.CYLINDER_FILLED: "fill",
    ev.CYLINDER_DELIVERED: "delivery",
    ev.CYLINDER_COLLECTED: "collection",
    ev.CYLINDER_INSPECTED: "inspection",
    ev.SMART_VALVE_FITTED: "valve",
    ev.CYLINDER_SEIZED: "seizure",
    ev.CYLINDER_SCRAPPED: "scrap",
    ev.CYLINDER_SWAPPED_OUT: "swap",
    ev.CYLINDER_SWAPPED_IN: "swap",
    ev.SAFETY_CHECK_RECORDED: "safety",
    VALVE_REPORTED: "valve",
    VALVE_FILL_UNMATCHED: "valve",
}
#: data keys naming people, places and other facts, in the order shown
WHO: Final = ("filler_id", "worker_id")
WHERE: Final = ("station_id", "customer_id", "vehicle_plate", "agency_id", "company_id", "valve_id")
FACTS: Final = ("type", "seq", "net_mass_kg", "residual_kg", "result", "next_inspection_due", "reason", "model",
                "serial", "manufactured_on", "swap_id", "action")


@dataclass(frozen=True, slots=True)
class SafetyCheck:
    performed: bool
    notice_given: bool
    customer_signed: bool
    hazards: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One event of the timeline."""

    version: int
    event_id: str
    type: str
    kind: str
    occurred_at: str
    recorded_at: str
    actor: str
    #: the principal's name behind ``actor``, when known
    actor_name: str | None
    source: str
    who: tuple[tuple[str, str], ...]
    where: tuple[tuple[str, str], ...]
    facts: tuple[tuple[str, str], ...]
    violations: tuple[Mapping[str, Any], ...]
    safety_check: SafetyCheck | None
    data: Mapping[str, Any]
    hash: str
    prev_hash: str

    @property
    def refused(self) -> bool:
        return self.type.endswith(ev.REFUSED_SUFFIX)


def kind_of(event_type: str) -> str:
    if event_type.endswith(ev.REFUSED_SUFFIX):
        return "refusal"
    return KINDS.get(event_type, "flag" if event_type.endswith("Flagged") else "other")


def _shown(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _pairs(sources: Sequence[Mapping[str, Any]], keys: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``(key, value)`` for each of ``keys`` found in the first source that has it."""
    out: list[tuple[str, str]] = []
    for key in keys:
        value = next((_shown(s.get(key)) for s in sources if _shown(s.get(key)) is not None), None)
        if value is not None:
            out.append((key, value))
    return tuple(out)


def _safety_check(raw: Any) -> SafetyCheck | None:
    if not isinstance(raw, Mapping):
        return None
    hazards = raw.get("hazards") or []
    return SafetyCheck(
        bool(raw.get("performed", True)), bool(raw.get("notice_given")), bool(raw.get("customer_signed")),
        tuple(str(h.get("kind", h)) if isinstance(h, Mapping) else str(h) for h in hazards))


def actor_id(actor: str) -> str:
    """``regulator:6f…`` → ``6f…`` (the principal id an actor names)."""
    return actor.split(":", 1)[1] if ":" in actor else actor


def step(event: Mapping[str, Any], names: Mapping[str, str]) -> Step:
    data: Mapping[str, Any] = event["data"]
    command = data.get("command")
    sources = [data, command] if isinstance(command, Mapping) else [data]
    if event["type"] == ev.SAFETY_CHECK_RECORDED:
        safety: Any = data
    else:
        safety = next((s["safety_check"] for s in sources if isinstance(s.get("safety_check"), Mapping)), None)
    return Step(
        version=int(event["version"]), event_id=str(event["event_id"]), type=str(event["type"]),
        kind=kind_of(str(event["type"])), occurred_at=str(event["occurred_at"]),
        recorded_at=str(event["recorded_at"]), actor=str(event["actor"]),
        actor_name=names.get(actor_id(str(event["actor"]))), source=str(event.get("source", "")),
        who=_pairs(sources, WHO), where=_pairs(sources, WHERE), facts=_pairs(sources, FACTS),
        violations=tuple(violations_in(data)), safety_check=_safety_check(safety), data=data,
        hash=str(event["hash"]), prev_hash=str(event["prev_hash"]),
    )


def timeline(events: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> list[Step]:
    """The steps in stream order."""
    return [step(e, names) for e in events]
