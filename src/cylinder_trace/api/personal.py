"""Answers holding personal data, shown as the caller may see them (``masking.py``), every read of an ID
number in full kept in the audit log. Used by the API's routes and the desk's pages alike."""

from __future__ import annotations

from typing import Any

from ..app.audit import CUSTOMER_UNMASKED, HISTORY_UNMASKED, record_unmasked_read
from ..app.principals import Principal
from ..app.services import Services
from ..app.unit_of_work import Tx
from .masking import PersonalView


async def audit_unmasked(services: Services, caller: Principal, subject: str, action: str) -> None:
    async def handler(tx: Tx) -> None:
        await record_unmasked_read(tx, caller, subject, action)

    await services.uow.write(handler)


async def shown_data(services: Services, caller: Principal, value: Any, subject: str, *,
                     action: str = CUSTOMER_UNMASKED, audit: bool = True) -> Any:
    """``value`` (a registry entry, a finding …) with its personal fields shown as ``caller`` may see them."""
    view = PersonalView(services.personal, caller.sees_unmasked_ids)
    shown = view.data(value)
    if audit and view.shown_in_full:
        await audit_unmasked(services, caller, subject, action)
    return shown


async def shown_history(services: Services, caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A cylinder's history answer (``{code, events, …}``) with each event's data shown as ``caller`` may
    see it, and the sealed values it stores listed for recomputing the chain."""
    view = PersonalView(services.personal, caller.sees_unmasked_ids)
    shown = {**body, "events": [view.event(e) for e in body["events"]]}
    if view.shown_in_full:
        await audit_unmasked(services, caller, f"cylinder:{body['code']}", HISTORY_UNMASKED)
    return shown
