"""Inspections and scrapping (DOMAIN.md, Inspections and scrapping; seed 二(二)1, 二(三)3).

* ``INSPECTION_AGENCY_UNLICENSED`` (block): an agency whose licence is missing or expired on the
  inspection day cannot record an inspection; the refusal changes nothing (due date, phase) and is
  evidence against the agency (``agency:<id>``).
* ``SCRAP_NOT_BY_AGENCY`` (high): problem cylinders must be handed to an inspection agency for
  scrapping (查处的"问题瓶"必须移交气瓶检验机构报废处理); a scrap naming no agency is recorded (the cylinder
  is out of circulation either way) and is a finding on the company that scrapped it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from ..cylinder import CylinderState
from ..violations import Violation
from . import catalogue as c
from .catalogue import subject
from .facts import AgencyFacts

Check = Callable[[CylinderState | None, Any], list[Violation]]


def agency_unlicensed(agency: AgencyFacts, day: date) -> list[Violation]:
    if agency.licensed_on(day):
        return []
    until = agency.licence_valid_until.isoformat() if agency.licence_valid_until else "—"
    return [c.INSPECTION_AGENCY_UNLICENSED.at(subject("agency", agency.id), None, agency_id=agency.id,
                                              valid_until=until)]


def inspection_check(agency: AgencyFacts, day: date) -> Check:
    """The inspection rules as a ``decide`` check: the agency's licence on the inspection day."""

    def check(state: CylinderState | None, cmd: Any) -> list[Violation]:
        return agency_unlicensed(agency, day)

    return check


def not_by_agency(state: CylinderState, company_id: str | None, agency_id: str | None) -> list[Violation]:
    """``company_id``: the company that scraps it (else the cylinder's own is responsible)."""
    if agency_id is not None:
        return []
    responsible = company_id or state.company_id
    target = subject("company", responsible) if responsible else subject("cylinder", state.code)
    return [c.SCRAP_NOT_BY_AGENCY.at(target, responsible, code=state.code)]


def scrap_check(company_id: str | None, agency_id: str | None) -> Check:
    """A scrap the lifecycle refuses (the cylinder is scrapped already) scraps nothing: no finding of it."""

    def check(state: CylinderState | None, cmd: Any) -> list[Violation]:
        return [] if state is None or state.is_scrapped else not_by_agency(state, company_id, agency_id)

    return check
