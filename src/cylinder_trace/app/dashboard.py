"""What a regulator watches, read from the projections and the event store: cylinders overdue or past
their design life (at customers and in stock), open findings by rule and by company, valves offline,
recent refusals and fills per day.

The rules are the domain's: a cylinder's overdue or life-reached state is judged by the fill rules
(``overdue_inspection``, ``life_expired``) and a valve's presence by ``DeviceStatus.is_online``; SQL
only narrows the rows to judge. Every number is scoped as the findings list is: a company sees its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events as ev
from ..domain.cylinder import state_from_json
from ..domain.dates import local_day
from ..domain.findings import ACTIVE, violations_in
from ..domain.policy import Policy
from ..domain.rules.fill import StateContext, life_expired, overdue_inspection
from ..domain.valves import DeviceStatus
from ..store import dashboard_reads as reads
from .principals import Principal

#: where a cylinder is, for the overdue counts: at a customer, or in the company's stock
PLACES: Final[dict[str, frozenset[str]]] = {
    "at_customer": frozenset({"at_customer"}),
    "in_stock": frozenset({"empty_in_stock", "full_in_stock"}),
}
#: how many local days the refusal count and the fills chart cover (today included)
REFUSAL_DAYS: Final = 7
FILL_DAYS: Final = 14


@dataclass(frozen=True, slots=True)
class Window:
    """The moment the dashboard is read at, its local day, and the policy in force that day."""

    now: datetime
    timezone: str
    policy: Policy

    @property
    def today(self) -> date:
        return local_day(self.now, self.timezone)

    def days(self, count: int) -> list[date]:
        """The last ``count`` local days, oldest first, today last."""
        return [self.today - timedelta(days=n) for n in range(count - 1, -1, -1)]

    def since(self, count: int) -> datetime:
        """A moment safely before the first of the last ``count`` local days (rows are then judged by
        their local day)."""
        return self.now - timedelta(days=count + 1)


async def cylinder_alarms(conn: AsyncConnection, company: str | None, window: Window) -> dict[str, dict[str, int]]:
    """``{place: {"overdue": n, "past_life": n}}`` for ``at_customer`` and ``in_stock``."""
    ctx = StateContext(window.today, window.policy)
    counts = {place: {"overdue": 0, "past_life": 0} for place in PLACES}
    statuses = {s for place in PLACES.values() for s in place}
    for raw in await reads.states_overdue_or_past_life(conn, statuses, window.today, company):
        state = state_from_json(raw)
        place = next(p for p, statuses_of in PLACES.items() if state.status in statuses_of)
        counts[place]["overdue"] += bool(overdue_inspection(state, ctx))
        counts[place]["past_life"] += bool(life_expired(state, ctx))
    return counts


async def open_findings_by(conn: AsyncConnection, column: str, company: str | None) -> list[tuple[str | None, int]]:
    """Unclosed findings counted by ``column`` (``rule`` or ``company_id``), most first."""
    rows = await reads.count_findings_by(conn, column, ACTIVE, company)
    return sorted(rows, key=lambda r: (-r[1], r[0] or ""))


async def valve_presence(conn: AsyncConnection, company: str | None, window: Window) -> dict[str, int]:
    """Registered valves, and how many of them are offline (never heard, or quiet too long)."""
    offline_after = timedelta(hours=window.policy.valve_offline_hours)
    rows = await reads.valve_presence_rows(conn, company)
    offline = sum(not DeviceStatus(online=online, last_seen=last_seen).is_online(window.now, offline_after)
                  for online, last_seen in rows)
    return {"total": len(rows), "offline": offline, "online": len(rows) - offline}


def _names_company(violation: Mapping[str, Any], company: str | None) -> bool:
    detail = violation.get("detail")
    return company is None or (isinstance(detail, Mapping) and detail.get("company_id") == company)


async def refusals(conn: AsyncConnection, company: str | None, window: Window) -> dict[str, Any]:
    """Refused actions recorded in the last :data:`REFUSAL_DAYS` local days: how many, and their
    blocking rules (a company sees refusals whose violations name it as responsible)."""
    first_day = window.days(REFUSAL_DAYS)[0]
    total = 0
    by_rule: Counter[str] = Counter()
    for recorded_at, data in await reads.events_of_type_suffix(conn, ev.REFUSED_SUFFIX, window.since(REFUSAL_DAYS)):
        if local_day(recorded_at, window.timezone) < first_day:
            continue
        mine = [v for v in violations_in(data) if _names_company(v, company)]
        if not mine:
            continue
        total += 1
        by_rule.update({str(v.get("rule")) for v in mine if v.get("severity") == "block"})
    return {"days": REFUSAL_DAYS, "since": first_day.isoformat(), "total": total,
            "by_rule": sorted(by_rule.items(), key=lambda r: (-r[1], r[0]))}


async def fills_per_day(conn: AsyncConnection, company: str | None, window: Window) -> list[tuple[date, int]]:
    """Accepted fills per local day over the last :data:`FILL_DAYS` days (by when they happened)."""
    times = await reads.cylinder_event_times(conn, ev.CYLINDER_FILLED, window.since(FILL_DAYS), window.now, company)
    counts = Counter(local_day(at, window.timezone) for at in times)
    return [(day, counts.get(day, 0)) for day in window.days(FILL_DAYS)]


async def dashboard(conn: AsyncConnection, caller: Principal, window: Window,
                    company_id: str | None = None) -> dict[str, Any]:
    """Every number of the dashboard, for the companies ``caller`` may list (``company_id``: narrow a
    regulator's view to one company). An inspector sees the cylinders of every company (or of
    ``company_id``) and nothing of findings, valves or refusals, which inspectors do not read (API.md,
    Conventions)."""
    inspector = caller.role == "inspector"
    company = company_id if inspector else caller.listed_company(company_id, "data")
    numbers: dict[str, Any] = {
        "company_id": company,
        "today": window.today.isoformat(),
        "cylinders": await cylinder_alarms(conn, company, window),
        "by_status": await reads.count_by_status(conn, company),
        "fills_per_day": await fills_per_day(conn, company, window),
    }
    if inspector:
        numbers.update(findings_by_rule=[], findings_by_company=[], valves={"total": 0, "offline": 0, "online": 0},
                       refusals={"days": REFUSAL_DAYS, "since": window.days(REFUSAL_DAYS)[0].isoformat(),
                                 "total": 0, "by_rule": []})
        return numbers
    numbers.update(findings_by_rule=await open_findings_by(conn, "rule", company),
                   findings_by_company=await open_findings_by(conn, "company_id", company),
                   valves=await valve_presence(conn, company, window), refusals=await refusals(conn, company, window))
    return numbers
