"""Smart valve rules (DOMAIN.md, Smart valves): what a valve report, or its absence, says.

The rules themselves (codes, severities, messages) live in the catalogue; these are their checks.
Every finding names the cylinder the valve is fitted to (``cylinder:<code>``) and that cylinder's
company. The ingestor attaches the violations of a report to the ``ValveReported`` event it appends;
the fill window check and the offline sweep append their own events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..policy import Policy
from ..valves import FillVerdict
from ..violations import Violation
from . import catalogue as c
from .catalogue import subject


def report_violations(
    event_type: str,
    data: Mapping[str, Any],
    *,
    valve_id: str,
    seq: int,
    cylinder_code: str,
    company_id: str | None,
    fill_verdict: FillVerdict | None = None,
) -> list[Violation]:
    """The rules one valve report breaks. ``fill_verdict``: for a ``fill_completed``, how its
    authorization was judged (:func:`cylinder_trace.domain.valves.judge_fill_completed`)."""
    cylinder = subject("cylinder", cylinder_code)
    if event_type == "refill_detected":
        return [c.VALVE_ILLEGAL_REFILL.at(cylinder, company_id, valve_id=valve_id, seq=seq,
                                          reason="refill_detected", delta_kg=data.get("delta_kg"))]
    if event_type == "fill_completed" and fill_verdict is not None and fill_verdict is not FillVerdict.AUTHORIZED:
        return [c.VALVE_ILLEGAL_REFILL.at(cylinder, company_id, valve_id=valve_id, seq=seq,
                                          reason=f"authorization {fill_verdict.value}",
                                          auth_id=data.get("auth_id"), mass_kg=data.get("mass_kg"))]
    if event_type == "tamper":
        return [c.VALVE_TAMPER.at(cylinder, company_id, valve_id=valve_id, seq=seq, kind=data.get("kind"))]
    if event_type == "leak":
        return [c.VALVE_LEAK.at(cylinder, company_id, valve_id=valve_id, seq=seq, ppm=data.get("ppm"))]
    return []


def fill_unconfirmed(
    cylinder_code: str, company_id: str | None, valve_id: str, policy: Policy, fill_event_id: str
) -> Violation:
    """A station fill of a smart-valve cylinder with no ``fill_completed`` from the valve in the window."""
    return c.VALVE_FILL_UNCONFIRMED.at(subject("cylinder", cylinder_code), company_id, valve_id=valve_id,
                                       window_minutes=policy.fill_confirm_window_minutes,
                                       fill_event_id=fill_event_id)


def fill_unrecorded(
    cylinder_code: str, company_id: str | None, valve_id: str, policy: Policy, auth_id: str,
    valve_event_id: str | None,
) -> Violation:
    """An authorized ``fill_completed`` with no station fill record in the window."""
    return c.VALVE_FILL_UNRECORDED.at(subject("cylinder", cylinder_code), company_id, valve_id=valve_id,
                                      window_minutes=policy.fill_confirm_window_minutes, auth_id=auth_id,
                                      valve_event_id=valve_event_id)
