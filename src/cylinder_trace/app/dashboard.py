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

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events as ev
from ..domain.cylinder import state_from_json
from ..domain.dates import local_day
from ..domain.findings import ACTIVE, violations_in
from ..domain.policy import Policy
from ..domain.rules.fill import StateContext, life_expired, overdue_inspection
from ..domain.valves import DeviceStatus
from ..store.tables import cylinders, events, findings, registry, valve_status
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
    today = window.today
    ctx = StateContext(today, window.policy)
    statuses = sorted(s for place in PLACES.values() for s in place)
    query = sa.select(cylinders.c.state).where(
        cylinders.c.status.in_(statuses),
        sa.or_(cylinders.c.next_inspection_due < today, cylinders.c.life_expires_on <= today))
    if company is not None:
        query = query.where(cylinders.c.company_id == company)
    counts = {place: {"overdue": 0, "past_life": 0} for place in PLACES}
    for row in await conn.execute(query):
        state = state_from_json(row.state)
        place = next(p for p, statuses_of in PLACES.items() if state.status in statuses_of)
        counts[place]["overdue"] += bool(overdue_inspection(state, ctx))
        counts[place]["past_life"] += bool(life_expired(state, ctx))
    return counts


async def cylinders_by_status(conn: AsyncConnection, company: str | None) -> dict[str, int]:
    query = sa.select(cylinders.c.status, sa.func.count()).group_by(cylinders.c.status)
    if company is not None:
        query = query.where(cylinders.c.company_id == company)
    return {str(status): int(n) for status, n in await conn.execute(query)}


async def open_findings_by(conn: AsyncConnection, column: str, company: str | None) -> list[tuple[str | None, int]]:
    """Unclosed findings counted by ``column`` (``rule`` or ``company_id``), most first."""
    key = findings.c[column]
    query = sa.select(key, sa.func.count()).where(findings.c.status.in_(sorted(ACTIVE))).group_by(key)
    if company is not None:
        query = query.where(findings.c.company_id == company)
    rows = [(r[0], int(r[1])) for r in await conn.execute(query)]
    return sorted(rows, key=lambda r: (-r[1], r[0] or ""))


async def valve_presence(conn: AsyncConnection, company: str | None, window: Window) -> dict[str, int]:
    """Registered valves, and how many of them are offline (never heard, or quiet too long)."""
    offline_after = timedelta(hours=window.policy.valve_offline_hours)
    query = (sa.select(valve_status.c.online, valve_status.c.last_seen)
             .select_from(registry.outerjoin(valve_status, valve_status.c.valve_id == registry.c.id))
             .where(registry.c.kind == "valve"))
    if company is not None:
        query = query.where(registry.c.company_id == company)
    total = offline = 0
    for row in await conn.execute(query):
        total += 1
        status = DeviceStatus(online=row.online, last_seen=row.last_seen)
        offline += not status.is_online(window.now, offline_after)
    return {"total": total, "offline": offline, "online": total - offline}


def _names_company(violation: Mapping[str, Any], company: str | None) -> bool:
    detail = violation.get("detail")
    return company is None or (isinstance(detail, Mapping) and detail.get("company_id") == company)


async def refusals(conn: AsyncConnection, company: str | None, window: Window) -> dict[str, Any]:
    """Refused actions recorded in the last :data:`REFUSAL_DAYS` local days: how many, and their
    blocking rules (a company sees refusals whose violations name it as responsible)."""
    first_day = window.days(REFUSAL_DAYS)[0]
    query = sa.select(events.c.recorded_at, events.c.data).where(
        events.c.type.like(f"%{ev.REFUSED_SUFFIX}"), events.c.recorded_at >= window.since(REFUSAL_DAYS))
    total = 0
    by_rule: Counter[str] = Counter()
    for row in await conn.execute(query):
        if local_day(row.recorded_at, window.timezone) < first_day:
            continue
        mine = [v for v in violations_in(row.data) if _names_company(v, company)]
        if not mine:
            continue
        total += 1
        by_rule.update({str(v.get("rule")) for v in mine if v.get("severity") == "block"})
    return {"days": REFUSAL_DAYS, "since": first_day.isoformat(), "total": total,
            "by_rule": sorted(by_rule.items(), key=lambda r: (-r[1], r[0]))}


async def fills_per_day(conn: AsyncConnection, company: str | None, window: Window) -> list[tuple[date, int]]:
    """Accepted fills per local day over the last :data:`FILL_DAYS` days (by when they happened)."""
    days = window.days(FILL_DAYS)
    query = sa.select(events.c.occurred_at).where(
        events.c.type == ev.CYLINDER_FILLED, events.c.occurred_at >= window.since(FILL_DAYS),
        events.c.occurred_at <= window.now)
    if company is not None:
        query = query.select_from(events.join(
            cylinders, events.c.stream_id == sa.literal("cylinder:").concat(cylinders.c.code))
        ).where(cylinders.c.company_id == company)
    counts = Counter(local_day(r.occurred_at, window.timezone) for r in await conn.execute(query))
    return [(day, counts.get(day, 0)) for day in days]


async def dashboard(conn: AsyncConnection, caller: Principal, window: Window,
                    company_id: str | None = None) -> dict[str, Any]:
    """Every number of the dashboard, for the companies ``caller`` may list (``company_id``: narrow a
    regulator's view to one company)."""
    if caller.role == "inspector":
        return await _cylinder_numbers(conn, company_id, window)
    company = caller.listed_company(company_id, "data")
    return {
        "company_id": company,
        "today": window.today.isoformat(),
        "cylinders": await cylinder_alarms(conn, company, window),
        "by_status": await cylinders_by_status(conn, company),
        "findings_by_rule": await open_findings_by(conn, "rule", company),
        "findings_by_company": await open_findings_by(conn, "company_id", company),
        "valves": await valve_presence(conn, company, window),
        "refusals": await refusals(conn, company, window),
        "fills_per_day": await fills_per_day(conn, company, window),
    }


async def _cylinder_numbers(conn: AsyncConnection, company: str | None, window: Window) -> dict[str, Any]:
    """An inspector's dashboard: the cylinders of every company (or of ``company``), and nothing of
    findings, valves or refusals, which inspectors do not read (API.md, Conventions)."""
    return {
        "company_id": company,
        "today": window.today.isoformat(),
        "cylinders": await cylinder_alarms(conn, company, window),
        "by_status": await cylinders_by_status(conn, company),
        "findings_by_rule": [],
        "findings_by_company": [],
        "valves": {"total": 0, "offline": 0, "online": 0},
        "refusals": {"days": REFUSAL_DAYS, "since": window.days(REFUSAL_DAYS)[0].isoformat(), "total": 0,
                     "by_rule": []},
        "fills_per_day": await fills_per_day(conn, company, window),
    }
