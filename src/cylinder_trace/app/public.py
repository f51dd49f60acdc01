"""What anyone who scans a cylinder's QR code may see (DOMAIN.md, Public side; seed 三(二)1 公示).

The public view is built from an allowlist: the cylinder's model, owner company, status, dates and a
plain verdict, and the company's delivery workers, their phones and its vehicle plates. Nothing about
a customer ever enters it — no name, ID number, phone, address, nor the customer's id (a cylinder's
holder and a customer-owned cylinder's owner are customers, so neither is copied).

The verdict (safe to use or not, and why) is the domain's: ``domain/rules/public.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.codes import InvalidCode, parse_grai
from ..domain.cylinder import STATUS_ZH, CylinderState, state_from_json
from ..domain.dates import valid_on
from ..domain.policy import Policy
from ..domain.rules.facts import StaffFacts, VehicleFacts
from ..domain.rules.public import verdict
from ..store.tables import cylinders, registry
from .cylinders import CodeSettings
from .policies import today_and_policy
from .unit_of_work import UnitOfWork

OWNER_ZH: Final = {"company": "企业自有产权", "customer": "用户自有产权"}


def _worker(entry: Mapping[str, Any], today: date) -> dict[str, Any]:
    """As published; ``certified`` as the delivery rule judges it (a certificate number, still valid)."""
    return {"name": entry.get("name", ""), "phone": entry.get("phone", ""),
            "certificate_no": entry.get("certificate_no"), "certificate_valid_until": entry.get(
                "certificate_valid_until"), "certified": StaffFacts.from_entry(entry).certified_on(today)}


def _vehicle(entry: Mapping[str, Any], today: date) -> dict[str, Any]:
    """As published; ``permitted`` as the delivery rule judges it (a permit number, still valid)."""
    return {"plate": entry.get("plate", ""), "permit_valid_until": entry.get("permit_valid_until"),
            "permitted": VehicleFacts.from_entry(entry).permitted_on(today)}


async def company_roster(conn: AsyncConnection, company_id: str, today: date) -> dict[str, Any]:
    """The company as published (公示): name, licence, delivery workers with phones, vehicle plates."""
    rows = (await conn.execute(sa.select(registry.c.kind, registry.c.id, registry.c.data).where(
        sa.or_(sa.and_(registry.c.kind == "company", registry.c.id == company_id),
               sa.and_(registry.c.kind.in_(("staff", "vehicle")), registry.c.company_id == company_id)))
        .order_by(registry.c.kind, registry.c.id))).all()
    company: Mapping[str, Any] = next((r.data for r in rows if r.kind == "company"), {})
    until = company.get("licence_valid_until")
    return {
        "company": {"id": company_id, "name": company.get("name", ""), "licence_no": company.get("licence_no"),
                    "licence_valid_until": until,
                    "licensed": valid_on(date.fromisoformat(until) if until else None, today)},
        "delivery_workers": [_worker(r.data, today) for r in rows
                             if r.kind == "staff" and r.data.get("kind") == "delivery_worker"],
        "vehicles": [_vehicle(r.data, today) for r in rows if r.kind == "vehicle"],
    }


def public_state(state: CylinderState, today: date, policy: Policy, codes: CodeSettings) -> dict[str, Any]:
    """The cylinder's own public fields (an allowlist: no holder, no customer)."""
    owner_kind = "customer" if state.owner.customer_id is not None else "company"
    return {
        "code": state.code,
        "digital_link": parse_grai(state.code).digital_link(codes.public_base_url),
        "model": state.model,
        "manufacturer_code": state.manufacturer_code,
        "manufactured_on": state.manufactured_on.isoformat(),
        "owner": {"kind": owner_kind, "label_zh": OWNER_ZH[owner_kind]},
        "status": state.status,
        "status_zh": STATUS_ZH[state.status],
        "last_inspected_on": state.last_inspected_on.isoformat() if state.last_inspected_on else None,
        "next_inspection_due": state.next_inspection_due.isoformat(),
        "life_expires_on": state.life_expires_on.isoformat(),
        "smart_valve": state.smart_valve_id is not None,
        "verdict": verdict(state, today, policy).to_json(),
        "as_of": today.isoformat(),
    }


class UnknownPublicCode(Exception):
    """Nothing to show for a code: malformed (``reason`` says why) or not registered."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def public_page(uow: UnitOfWork, code: str, codes: CodeSettings) -> dict[str, Any]:
    """The public page's content for ``code`` as of today, by today's policy."""
    _, today, policy = today_and_policy(uow)

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await public_cylinder(conn, code, today, policy, codes)

    return await uow.read(reader)


async def public_cylinder(
    conn: AsyncConnection, code: str, today: date, policy: Policy, codes: CodeSettings
) -> dict[str, Any]:
    """The public page's content for ``code``; :class:`UnknownPublicCode` when there is none."""
    try:
        code = parse_grai(code).code
    except InvalidCode as exc:
        raise UnknownPublicCode(code, f"这不是有效的气瓶码（{exc.reason}）") from None
    row = (await conn.execute(sa.select(cylinders.c.state).where(cylinders.c.code == code))).first()
    if row is None:
        raise UnknownPublicCode(code, "该气瓶码未登记，可能是“黑气瓶”")
    state = state_from_json(row.state)
    body = public_state(state, today, policy, codes)
    body["owner"]["company_name"] = ""
    if state.company_id is not None:
        roster = await company_roster(conn, state.company_id, today)
        body["owner"]["company_name"] = roster["company"]["name"]
        body.update(roster)
    else:
        body.update({"company": None, "delivery_workers": [], "vehicles": []})
    return body

