"""Commands: what a door (HTTP, MQTT, import) asks the core to decide on. Plain values only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal


def command_json(cmd: object) -> dict[str, Any]:
    """A command as JSON values, for refusal evidence."""
    raw = asdict(cmd)  # type: ignore[call-overload]
    return {k: _plain(v) for k, v in raw.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class RegisterCylinder:
    code: str
    prefix_length: int
    serial: str
    model: str
    manufacturer_code: str
    manufactured_on: date
    owner_company_id: str | None
    owner_customer_id: str | None
    last_inspected_on: date | None
    tare_kg: float | None
    occurred_at: datetime
    serving_company_id: str | None = None
    #: a company cylinder found at a customer's premises when it is registered (a census)
    at_customer_id: str | None = None
    #: the day the cylinder became the owner's (新进): default the registration day, or for the existing
    #: fleet (a census) the day of manufacture
    in_service_since: date | None = None
    #: registered as part of the existing fleet (a census import), not newly acquired
    existing_fleet: bool = False


@dataclass(frozen=True, slots=True)
class CheckFill:
    """The fill pre-check: may ``code`` be filled at this station now? It only tells (nothing is refused)."""

    code: str
    station_id: str
    filler_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordFill:
    code: str
    station_id: str
    filler_id: str
    occurred_at: datetime
    net_mass_kg: float
    checks: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordDelivery:
    code: str
    customer_id: str
    worker_id: str
    occurred_at: datetime
    vehicle_plate: str | None = None
    safety_check: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RecordCollection:
    code: str
    customer_id: str
    worker_id: str
    occurred_at: datetime
    residual_kg: float | None = None


@dataclass(frozen=True, slots=True)
class RecordInspection:
    code: str
    agency_id: str
    occurred_at: datetime
    result: Literal["pass", "fail"]
    converted_to_single_phase: bool = False


@dataclass(frozen=True, slots=True)
class FitValve:
    code: str
    valve_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class SeizeCylinder:
    code: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class ScrapCylinder:
    code: str
    reason: str
    occurred_at: datetime
    company_id: str | None = None
    handed_in_by: dict[str, str] | None = None
    #: the inspection agency that destroys the cylinder (problem cylinders are handed to one, 二(二)1)
    agency_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordSafetyCheck:
    """An in-home safety check at a customer's (入户安检), outside a delivery."""

    customer_id: str
    worker_id: str
    occurred_at: datetime
    notice_given: bool
    customer_signed: bool
    hazards: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExecuteSwap:
    """产权置换: the customer's own cylinder ``old_code`` for the company cylinder ``new_code``."""

    swap_id: str
    old_code: str
    new_code: str
    customer_id: str
    occurred_at: datetime
    residual_kg: float
    recycle_price_cny: float | None = None

    @property
    def code(self) -> str:
        """The stream a refusal is recorded on: the customer's cylinder."""
        return self.old_code


@dataclass(frozen=True, slots=True)
class RefundDeposit:
    swap_id: str
    #: the company cylinder the customer returns
    code: str
    occurred_at: datetime
