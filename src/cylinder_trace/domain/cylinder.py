"""A cylinder's state, folded from its events, and the lifecycle state machine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Final, Literal

from . import events as ev
from .rules.catalogue import LIFECYCLE_INVALID_TRANSITION, subject
from .violations import Violation

Status = Literal["empty_in_stock", "full_in_stock", "at_customer", "unqualified", "seized", "scrapped"]
Phase = Literal["single", "dual"]

STATUSES: Final[tuple[Status, ...]] = (
    "empty_in_stock",
    "full_in_stock",
    "at_customer",
    "unqualified",
    "seized",
    "scrapped",
)
STATUS_ZH: Final[dict[str, str]] = {
    "empty_in_stock": "空瓶在库",
    "full_in_stock": "实瓶在库",
    "at_customer": "在用户处",
    "unqualified": "不合格",
    "seized": "已查封",
    "scrapped": "已报废",
}

#: action → (states it is allowed from, or None for "any but scrapped"; the state it leads to)
TRANSITIONS: Final[dict[str, tuple[frozenset[str] | None, str | None]]] = {
    "fill": (frozenset({"empty_in_stock"}), "full_in_stock"),
    "deliver": (frozenset({"full_in_stock"}), "at_customer"),
    "collect": (frozenset({"at_customer"}), "empty_in_stock"),
    "inspect": (frozenset({"empty_in_stock"}), None),  # pass → empty_in_stock, fail → unqualified
    "fit_valve": (None, None),  # a valve is fitted in any state but scrapped; state unchanged
    "seize": (None, "seized"),
    "scrap": (None, "scrapped"),
    "swap_out": (frozenset({"at_customer"}), None),
    "swap_in": (frozenset({"full_in_stock"}), "at_customer"),
}


@dataclass(frozen=True, slots=True)
class Owner:
    company_id: str | None = None
    customer_id: str | None = None

    def to_json(self) -> dict[str, str]:
        if self.company_id is not None:
            return {"company_id": self.company_id}
        return {"customer_id": self.customer_id or ""}

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> Owner:
        return Owner(company_id=raw.get("company_id"), customer_id=raw.get("customer_id"))


@dataclass(frozen=True, slots=True)
class Holder:
    kind: Literal["station", "vehicle", "customer", "agency", "company"]
    id: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id}


@dataclass(frozen=True, slots=True)
class CylinderState:
    code: str
    model: str
    serial: str
    manufacturer_code: str
    manufactured_on: date
    owner: Owner
    status: Status
    holder: Holder | None
    valve_phase: Phase
    smart_valve_id: str | None
    registered_on: date
    last_inspected_on: date | None
    last_inspection_result: Literal["pass", "fail"] | None
    next_inspection_due: date
    life_expires_on: date
    tare_kg: float | None = None
    water_capacity_l: float | None = None
    prefix_length: int = 7
    fill_count: int = 0
    serving_company_id: str | None = None
    customer_id: str | None = None
    version: int = 0
    #: the day the company took the cylinder over from a customer (产权置换), if it did
    acquired_on: date | None = None
    #: taken over in a swap and not yet passed an inspection since: may not be filled
    inspection_required: bool = False
    #: the day the cylinder became its owner's (新进); None in states stored before it was kept
    in_service_since: date | None = None

    @property
    def is_scrapped(self) -> bool:
        return self.status == "scrapped"

    @property
    def new_to_owner_on(self) -> date:
        """When the cylinder became its owner's: ``in_service_since``, else (older states) the registration day."""
        return self.in_service_since or self.registered_on

    @property
    def company_id(self) -> str | None:
        """The company responsible: the owner, or for a customer-owned cylinder the one serving it."""
        return self.owner.company_id or self.serving_company_id


class LifecycleError(ValueError):
    pass


def lifecycle_violation(state: CylinderState | None, action: str) -> Violation | None:
    """``LIFECYCLE_INVALID_TRANSITION`` when ``action`` is not allowed from the current state."""
    if state is None:
        return None
    allowed, _ = TRANSITIONS[action]
    ok = not state.is_scrapped and (allowed is None or state.status in allowed)
    if ok:
        return None
    return LIFECYCLE_INVALID_TRANSITION.at(subject("cylinder", state.code), state.company_id,
                                           current_state=state.status, current_state_zh=STATUS_ZH[state.status],
                                           action=action)


def _date(raw: Any) -> date | None:
    return date.fromisoformat(raw) if raw else None


def _registered(data: Mapping[str, Any], version: int) -> CylinderState:
    """The state a registration starts: its data, put in the stored form (:func:`state_to_json`), read
    back by the one builder of states."""
    return state_from_json({
        **data,
        "valve": {"phase": data["valve_phase"], "smart_valve_id": data.get("smart_valve_id")},
        "last_inspection_result": "pass" if data.get("last_inspected_on") else None,
        "customer_id": data.get("at_customer_id") or data["owner"].get("customer_id"),
        "version": version,
    })


def _changes(s: Mapping[str, Any], event_type: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an event changes in a state (given as its fields) besides the version (None: nothing)."""
    if event_type == ev.CYLINDER_FILLED:
        return {"status": "full_in_stock", "fill_count": s["fill_count"] + 1,
                "holder": Holder("station", data["station_id"])}
    if event_type == ev.CYLINDER_DELIVERED:
        return {"status": "at_customer", "holder": Holder("customer", data["customer_id"]),
                "customer_id": data["customer_id"]}
    if event_type == ev.CYLINDER_COLLECTED:
        company = s["owner"].company_id or s["serving_company_id"]
        return {"status": "empty_in_stock", "holder": Holder("company", company or ""), "customer_id": None}
    if event_type == ev.CYLINDER_INSPECTED:
        passed = data["result"] == "pass"
        return {
            "status": "empty_in_stock" if passed else "unqualified",
            "last_inspected_on": date.fromisoformat(data["inspected_on"]),
            "last_inspection_result": data["result"],
            "next_inspection_due": date.fromisoformat(data["next_inspection_due"]),
            "life_expires_on": date.fromisoformat(data["life_expires_on"]),
            "valve_phase": "single" if passed and data.get("converted_to_single_phase") else s["valve_phase"],
            "holder": Holder("agency", data["agency_id"]),
            "inspection_required": s["inspection_required"] and not passed,
        }
    if event_type == ev.SMART_VALVE_FITTED:
        return {"smart_valve_id": data["valve_id"]}
    if event_type == ev.CYLINDER_SEIZED:
        return {"status": "seized"}
    if event_type == ev.CYLINDER_SCRAPPED:
        return {"status": "scrapped", "smart_valve_id": None}
    if event_type == ev.CYLINDER_SWAPPED_OUT:
        company = data["company_id"]
        return {"status": "empty_in_stock", "owner": Owner(company_id=company), "serving_company_id": None,
                "holder": Holder("company", company), "customer_id": None,
                "acquired_on": date.fromisoformat(data["day"]), "inspection_required": True}
    if event_type == ev.CYLINDER_SWAPPED_IN:
        return {"status": "at_customer", "holder": Holder("customer", data["customer_id"]),
                "customer_id": data["customer_id"]}
    return None


#: the events that change a state beyond its version (every other event on the stream only counts)
STATE_EVENTS: Final = frozenset({
    ev.CYLINDER_REGISTERED, ev.CYLINDER_FILLED, ev.CYLINDER_DELIVERED, ev.CYLINDER_COLLECTED, ev.CYLINDER_INSPECTED,
    ev.SMART_VALVE_FITTED, ev.CYLINDER_SEIZED, ev.CYLINDER_SCRAPPED, ev.CYLINDER_SWAPPED_OUT, ev.CYLINDER_SWAPPED_IN,
})
_FIELDS: Final = tuple(f.name for f in fields(CylinderState))


def _fields_of(state: CylinderState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in _FIELDS}


def apply(state: CylinderState | None, event_type: str, data: Mapping[str, Any], version: int) -> CylinderState | None:
    """One step of the fold. Refusals and unknown types leave the state as it was (but count)."""
    return fold_onto(state, ((event_type, data, version),))


def fold_onto(state: CylinderState | None, history: Iterable[tuple[str, Mapping[str, Any], int]]
              ) -> CylinderState | None:
    """Apply each ``(type, data, version)`` in turn (:data:`STATE_EVENTS` change the state, the others only
    count). The changes are gathered on the state's fields and the new state is built once, at the end
    (a registration's state, built when it is read, is kept as it is while nothing changes it)."""
    built = state  # a state holding every change so far, or None once ``changed`` holds them
    changed: dict[str, Any] | None = None
    last = state.version if state is not None else 0
    for event_type, data, version in history:
        last = version
        if event_type == ev.CYLINDER_REGISTERED:
            built, changed = _registered(data, version), None
        elif event_type in STATE_EVENTS and (built is not None or changed is not None):
            if changed is None:
                assert built is not None
                changed, built = _fields_of(built), None
            changed.update(_changes(changed, event_type, data) or {})
    if changed is not None:
        changed["version"] = last
        return CylinderState(**changed)
    if built is None:
        return None
    return built if built.version == last else replace(built, version=last)


def fold(history: Iterable[tuple[str, Mapping[str, Any], int]]) -> CylinderState | None:
    """Fold ``(type, data, version)`` triples, oldest first, into the current state."""
    return fold_onto(None, history)


def state_to_json(state: CylinderState) -> dict[str, Any]:
    return {
        "code": state.code,
        "model": state.model,
        "serial": state.serial,
        "manufacturer_code": state.manufacturer_code,
        "manufactured_on": state.manufactured_on.isoformat(),
        "owner": state.owner.to_json(),
        "status": state.status,
        "holder": state.holder.to_json() if state.holder else None,
        "valve": {"phase": state.valve_phase, "smart_valve_id": state.smart_valve_id},
        "registered_on": state.registered_on.isoformat(),
        "last_inspected_on": state.last_inspected_on.isoformat() if state.last_inspected_on else None,
        "last_inspection_result": state.last_inspection_result,
        "next_inspection_due": state.next_inspection_due.isoformat(),
        "life_expires_on": state.life_expires_on.isoformat(),
        "tare_kg": state.tare_kg,
        "water_capacity_l": state.water_capacity_l,
        "fill_count": state.fill_count,
        "serving_company_id": state.serving_company_id,
        "customer_id": state.customer_id,
        "prefix_length": state.prefix_length,
        "acquired_on": state.acquired_on.isoformat() if state.acquired_on else None,
        "inspection_required": state.inspection_required,
        "in_service_since": state.new_to_owner_on.isoformat(),
        "version": state.version,
    }


def state_from_json(raw: Mapping[str, Any]) -> CylinderState:
    """The inverse of :func:`state_to_json` (projections keep states as JSON)."""
    holder = raw.get("holder")
    return CylinderState(
        code=raw["code"],
        model=raw["model"],
        serial=raw["serial"],
        manufacturer_code=raw["manufacturer_code"],
        manufactured_on=date.fromisoformat(raw["manufactured_on"]),
        owner=Owner.from_json(raw["owner"]),
        status=raw["status"],
        holder=Holder(**holder) if holder else None,
        valve_phase=raw["valve"]["phase"],
        smart_valve_id=raw["valve"]["smart_valve_id"],
        registered_on=date.fromisoformat(raw["registered_on"]),
        last_inspected_on=_date(raw.get("last_inspected_on")),
        last_inspection_result=raw.get("last_inspection_result"),
        next_inspection_due=date.fromisoformat(raw["next_inspection_due"]),
        life_expires_on=date.fromisoformat(raw["life_expires_on"]),
        tare_kg=raw.get("tare_kg"),
        water_capacity_l=raw.get("water_capacity_l"),
        prefix_length=raw.get("prefix_length", 7),
        fill_count=raw.get("fill_count", 0),
        serving_company_id=raw.get("serving_company_id"),
        customer_id=raw.get("customer_id"),
        version=raw["version"],
        acquired_on=_date(raw.get("acquired_on")),
        inspection_required=bool(raw.get("inspection_required", False)),
        in_service_since=_date(raw.get("in_service_since")),
    )
