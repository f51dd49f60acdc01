"""Request and response DTOs. Unknown fields are refused so a typo never passes silently."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..domain.event_time import EventTimeRefused, real_instant


def _no_nul(value: str) -> str:
    """PostgreSQL keeps no NUL character in text: refused at the door, naming the field."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


def _no_number(value: Any) -> Any:
    """A timestamp is written out (ISO 8601 with its offset), never as a bare number of seconds."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise ValueError("a timestamp is written as date, time and offset (ISO 8601), not as a number")
    return value


def _real(value: datetime) -> datetime:
    try:
        real_instant(value)
    except EventTimeRefused as exc:
        raise ValueError(exc.reason) from None
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
NoNul = AfterValidator(_no_nul)
#: an instant: ISO 8601 with its offset, a real one once the offset is applied (event times, query bounds)
Instant = Annotated[AwareDatetime, BeforeValidator(_no_number), AfterValidator(_real)]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500), NoNul]
Phone = Annotated[str, StringConstraints(min_length=5, max_length=20, pattern=r"^\+?[0-9\- ]+$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40), NoNul]
Kg = Annotated[float, Field(ge=0, le=1000)]
Plate = Annotated[str, StringConstraints(min_length=2, max_length=16), NoNul]
IdNumber = Annotated[str, StringConstraints(min_length=8, max_length=20, pattern=r"^[0-9A-Za-z]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- principals ---------------------------------------------------------------------------------
class PrincipalIn(Strict):
    role: Literal["admin", "regulator", "company_admin", "station_operator", "delivery_worker", "inspector"]
    name: Text
    company_id: Ident | None = None
    station_id: Ident | None = None
    staff_id: Ident | None = None
    agency_id: Ident | None = None
    #: refused from then on (401); without it the token lasts until revoked
    expires_at: Instant | None = None


class PrincipalOut(BaseModel):
    id: str
    token: str


# --- registries ---------------------------------------------------------------------------------
class CompanyIn(Strict):
    id: Ident
    name: Text
    gs1_company_prefix: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,12}$")] | None = None
    licence_no: Text
    licence_valid_until: date


class StationIn(Strict):
    id: Ident
    company_id: Ident
    name: Text
    licence_no: Text
    licence_valid_until: date


class StaffIn(Strict):
    id: Ident
    company_id: Ident
    name: Text
    phone: Phone
    kind: Literal["filler", "delivery_worker"]
    certificate_no: Text
    certificate_valid_until: date


class VehicleIn(Strict):
    plate: Plate
    company_id: Ident
    permit_no: Text
    permit_valid_until: date


class AgencyIn(Strict):
    id: Ident
    name: Text
    licence_no: Text
    licence_valid_until: date


class Premises(Strict):
    underground: bool = False
    gas_alarm: bool = False
    emergency_shutoff: bool = False
    cylinder_room: bool = False


class CustomerIn(Strict):
    id: Ident
    company_id: Ident
    kind: Literal["residential", "non_residential"]
    name: Text
    id_number: IdNumber
    phone: Phone
    address: Text
    contract_no: Text | None = None
    premises: Premises | None = None


class ValveIn(Strict):
    valve_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    company_id: Ident
    secret: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]


class RegistryPatch(Strict):
    """A PATCH body: only the fields that change. A field the POST body requires may not be null."""

    required_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulled = sorted(k for k in cls.required_fields if k in data and data[k] is None)
            if nulled:
                raise PydanticCustomError("null_required", "{field} may be changed but not removed",
                                          {"field": nulled[0]})
        return data


def _optional(annotation: Any, metadata: list[Any]) -> Any:
    constrained = Annotated[(annotation, *metadata)] if metadata else annotation
    return constrained | None


def patch_model(schema: type[Strict]) -> type[RegistryPatch]:
    """The PATCH body of a registry: every field of ``schema`` optional, each with the same constraints as
    in the POST body (one schema per field for both)."""
    fields: dict[str, Any] = {name: (_optional(info.annotation, info.metadata), None)
                              for name, info in schema.model_fields.items()}
    model = create_model(f"{schema.__name__.removesuffix('In')}Patch", __base__=RegistryPatch, **fields)
    model.required_fields = frozenset(n for n, info in schema.model_fields.items() if info.is_required())
    return model


REGISTRY_SCHEMAS: dict[str, type[Strict]] = {
    "companies": CompanyIn,
    "stations": StationIn,
    "staff": StaffIn,
    "vehicles": VehicleIn,
    "agencies": AgencyIn,
    "customers": CustomerIn,
    "valves": ValveIn,
}


# --- cylinders ----------------------------------------------------------------------------------
class OwnerIn(Strict):
    company_id: Ident | None = None
    customer_id: Ident | None = None


class CylinderIn(Strict):
    event_id: UUID
    serial: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,16}$")] | None = None
    model: Annotated[str, StringConstraints(min_length=1, max_length=20), NoNul]
    manufacturer_code: Annotated[str, StringConstraints(min_length=1, max_length=40), NoNul]
    manufactured_on: date
    owner: OwnerIn
    last_inspected_on: date | None = None
    tare_kg: Kg | None = None
    code: Code | None = None
    occurred_at: Instant | None = None
    #: the day the cylinder became the owner's (新进); default: the registration day
    in_service_since: date | None = None


class FitValveIn(Strict):
    event_id: UUID
    valve_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    occurred_at: Instant


class SeizeIn(Strict):
    event_id: UUID
    reason: Text
    occurred_at: Instant


class HandedInBy(Strict):
    name: Text
    id_number: IdNumber
    phone: Phone
    address: Text


class ScrapIn(Strict):
    event_id: UUID
    reason: Text
    occurred_at: Instant
    company_id: Ident | None = None
    #: the inspection agency that destroys it (an inspector's own agency by default)
    agency_id: Ident | None = None
    handed_in_by: HandedInBy | None = None


# --- station and delivery work ------------------------------------------------------------------
class FillChecks(Strict):
    pre_fill_ok: bool
    post_fill_ok: bool
    leak_ok: bool


class FillIn(Strict):
    event_id: UUID
    code: Code
    station_id: Ident
    filler_id: Ident
    occurred_at: Instant
    net_mass_kg: Kg
    checks: FillChecks


class Hazard(Strict):
    kind: Text
    note: Text | None = None


class SafetyCheckIn(Strict):
    performed: bool
    notice_given: bool
    customer_signed: bool
    hazards: list[Hazard] = Field(default_factory=list, max_length=50)


class DeliveryIn(Strict):
    event_id: UUID
    code: Code
    customer_id: Ident
    worker_id: Ident
    vehicle_plate: Plate | None = None
    occurred_at: Instant
    safety_check: SafetyCheckIn | None = None


class CollectionIn(Strict):
    event_id: UUID
    code: Code
    customer_id: Ident
    worker_id: Ident
    occurred_at: Instant
    residual_kg: Kg | None = None


class InspectionIn(Strict):
    event_id: UUID
    code: Code
    agency_id: Ident
    occurred_at: Instant
    result: Literal["pass", "fail"]
    converted_to_single_phase: bool = False


# --- rules: fill checks, safety checks, findings, swaps ------------------------------------------
Cny = Annotated[float, Field(ge=0, le=100000)]


class FillCheckIn(Strict):
    code: Code
    station_id: Ident
    filler_id: Ident | None = None


class SafetyCheckRecordIn(Strict):
    event_id: UUID
    customer_id: Ident
    worker_id: Ident
    occurred_at: Instant
    notice_given: bool
    customer_signed: bool
    hazards: list[Hazard] = Field(default_factory=list, max_length=50)


class FindingNoteIn(Strict):
    note: Text
    #: optional: the same event_id again returns the first answer and changes nothing
    event_id: UUID | None = None


class SwapQuoteIn(Strict):
    code: Code
    on: date
    residual_kg: Kg
    recycle_price_cny: Cny | None = None


class SwapIn(Strict):
    event_id: UUID
    old_code: Code
    new_code: Code
    customer_id: Ident
    occurred_at: Instant
    residual_kg: Kg
    recycle_price_cny: Cny | None = None


class RefundDepositIn(Strict):
    event_id: UUID
    occurred_at: Instant
    returned_code: Code


# --- codes, labels, scanning and the public side ------------------------------------------------
class LabelSheetIn(Strict):
    codes: list[Code] = Field(min_length=1, max_length=2000)


class ReportIn(Strict):
    kind: Literal["illegal_dealer", "black_cylinder", "other"]
    code: Annotated[str, StringConstraints(max_length=40, strip_whitespace=True), NoNul] | None = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True), NoNul]
    contact: Annotated[str, StringConstraints(max_length=100, strip_whitespace=True), NoNul] | None = None


class ReportOut(BaseModel):
    report_id: str
    kind: str
    code: str | None
    subject: str
    received_at: str
    status: str
