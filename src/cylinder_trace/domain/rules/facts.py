"""Registry facts the rules judge by, as plain values (built from registry entries by the app layer).

Every validity date is inclusive of its last day (``dates.valid_on``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..dates import valid_on


def _day(raw: Any) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    return date.fromisoformat(str(raw))


@dataclass(frozen=True, slots=True)
class CompanyFacts:
    id: str
    licence_valid_until: date | None

    @staticmethod
    def from_entry(entry: Mapping[str, Any]) -> CompanyFacts:
        return CompanyFacts(str(entry["id"]), _day(entry.get("licence_valid_until")))


@dataclass(frozen=True, slots=True)
class StationFacts:
    id: str
    company_id: str
    licence_valid_until: date | None

    @staticmethod
    def from_entry(entry: Mapping[str, Any]) -> StationFacts:
        return StationFacts(str(entry["id"]), str(entry["company_id"]),
                            _day(entry.get("licence_valid_until")))


@dataclass(frozen=True, slots=True)
class StaffFacts:
    id: str
    company_id: str
    kind: str
    certificate_no: str | None
    certificate_valid_until: date | None

    @staticmethod
    def from_entry(entry: Mapping[str, Any]) -> StaffFacts:
        return StaffFacts(str(entry["id"]), str(entry["company_id"]), str(entry.get("kind", "")),
                          entry.get("certificate_no") or None, _day(entry.get("certificate_valid_until")))

    def certified_on(self, day: date) -> bool:
        return bool(self.certificate_no) and valid_on(self.certificate_valid_until, day)


@dataclass(frozen=True, slots=True)
class VehicleFacts:
    plate: str
    company_id: str
    permit_no: str | None
    permit_valid_until: date | None

    @staticmethod
    def from_entry(entry: Mapping[str, Any]) -> VehicleFacts:
        return VehicleFacts(str(entry["plate"]), str(entry["company_id"]), entry.get("permit_no") or None,
                            _day(entry.get("permit_valid_until")))

    def permitted_on(self, day: date) -> bool:
        return bool(self.permit_no) and valid_on(self.permit_valid_until, day)


@dataclass(frozen=True, slots=True)
class AgencyFacts:
    """A cylinder inspection agency (气瓶检验机构) and its licence."""

    id: str
    licence_no: str | None
    licence_valid_until: date | None

    @staticmethod
    def from_entry(entry: Mapping[str, Any]) -> AgencyFacts:
        return AgencyFacts(str(entry["id"]), entry.get("licence_no") or None, _day(entry.get("licence_valid_until")))

    def licensed_on(self, day: date) -> bool:
        return bool(self.licence_no) and valid_on(self.licence_valid_until, day)


@dataclass(frozen=True, slots=True)
class PremisesFacts:
    underground: bool = False
    gas_alarm: bool = False
    emergency_shutoff: bool = False
    cylinder_room: bool = False

    @staticmethod
    def from_entry(raw: Mapping[str, Any] | None) -> PremisesFacts:
        raw = raw or {}
        return PremisesFacts(bool(raw.get("underground")), bool(raw.get("gas_alarm")),
                             bool(raw.get("emergency_shutoff")), bool(raw.get("cylinder_room")))


#: the real-name fields of a customer (实名制: name, ID number, phone, address), in message order
REAL_NAME_FIELDS: tuple[str, ...] = ("name", "id_number", "phone", "address")


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    id: str
    company_id: str
    kind: str
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None
    contract_no: str | None = None
    premises: PremisesFacts = field(default_factory=PremisesFacts)

    @staticmethod
    def from_entry(entry: Mapping[str, Any]) -> CustomerFacts:
        return CustomerFacts(
            id=str(entry["id"]), company_id=str(entry["company_id"]),
            kind=str(entry.get("kind", "residential")),
            name=entry.get("name") or None, id_number=entry.get("id_number") or None,
            phone=entry.get("phone") or None, address=entry.get("address") or None,
            contract_no=entry.get("contract_no") or None,
            premises=PremisesFacts.from_entry(entry.get("premises")),
        )

    @property
    def residential(self) -> bool:
        return self.kind == "residential"

    def missing_real_name(self) -> list[str]:
        """Fields the delivery rule needs (name, ID number, phone)."""
        return [f for f in ("name", "id_number", "phone") if not getattr(self, f)]


@dataclass(frozen=True, slots=True)
class HazardFacts:
    """An unclosed ``HAZARD_FOUND`` finding of a customer."""

    finding_id: str
    status: str
    due_on: date | None
    refused: bool = False

    def suspends_supply_on(self, day: date) -> bool:
        """Open (not claimed rectified) and past its due date, or the customer refused to rectify."""
        if self.status != "open":
            return False
        return self.refused or (self.due_on is not None and day > self.due_on)
