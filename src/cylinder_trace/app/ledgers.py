"""The subsidy ledger and the swap ledger (台账), read from their projections.

Amounts are kept in fen (integers) and summed exactly; they leave as CNY. ``from``/``to`` are local
days, both inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.swaps import money
from ..store.tables import subsidy_lines, swap_ledger
from .errors import InvalidInput
from .principals import Principal

SUBSIDY_COLUMNS: Final = ("company_id", "month", "kind", "count", "amount_cny", "by_basis", "event_ids")
SWAP_COLUMNS: Final = (
    "swap_id", "day", "company_id", "customer_id", "old_code", "new_code", "branch", "age_years",
    "years_since_inspection", "user_pays_cny", "deposit_cny", "company_pays_user_cny", "topup_kg", "subsidy_cny",
    "deposit_refunded_on", "returned_code", "event_ids",
)


@dataclass(frozen=True, slots=True)
class LedgerRange:
    company_id: str | None = None
    start: date | None = None
    end: date | None = None

    def scoped(self, caller: Principal) -> LedgerRange:
        if self.start and self.end and self.start > self.end:
            raise InvalidInput("from", "must not be after 'to'")
        return replace(self, company_id=caller.listed_company(self.company_id, "ledgers"))

    def applied(self, query: sa.Select[Any], ledger: sa.Table) -> sa.Select[Any]:
        """``query`` over ``ledger`` (with ``company_id`` and ``day`` columns) narrowed to this range."""
        if self.company_id is not None:
            query = query.where(ledger.c.company_id == self.company_id)
        if self.start is not None:
            query = query.where(ledger.c.day >= self.start)
        if self.end is not None:
            query = query.where(ledger.c.day <= self.end)
        return query


def cny(fen: int) -> float | int:
    return money(fen / 100)


async def subsidies(conn: AsyncConnection, caller: Principal, rng: LedgerRange) -> dict[str, Any]:
    rng = rng.scoped(caller)
    t = subsidy_lines
    query = rng.applied(sa.select(t).order_by(t.c.company_id, t.c.month, t.c.kind, t.c.day, t.c.event_id), t)
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    total = 0
    for r in (await conn.execute(query)).all():
        g = groups.setdefault((r.company_id, r.month, r.kind), {"count": 0, "fen": 0, "event_ids": [], "basis": {}})
        g["count"] += 1
        if r.basis is not None:
            g["basis"][r.basis] = g["basis"].get(r.basis, 0) + 1
        g["fen"] += r.amount_fen
        g["event_ids"].append(r.event_id)
        total += r.amount_fen
    rows = [{"company_id": c, "month": m, "kind": k, "count": g["count"], "amount_cny": cny(g["fen"]),
             "by_basis": dict(sorted(g["basis"].items())), "event_ids": g["event_ids"]}
            for (c, m, k), g in groups.items()]
    return {"company_id": rng.company_id, "from": _iso(rng.start), "to": _iso(rng.end), "rows": rows,
            "total_cny": cny(total)}


async def swaps(conn: AsyncConnection, caller: Principal, rng: LedgerRange) -> dict[str, Any]:
    rng = rng.scoped(caller)
    t = swap_ledger
    query = rng.applied(sa.select(t).order_by(t.c.day, t.c.position), t)
    rows: list[dict[str, Any]] = []
    sums = {"user_pays": 0, "deposit": 0, "payout": 0, "subsidy": 0, "refunded": 0}
    topup = 0.0
    for r in (await conn.execute(query)).all():
        rows.append({
            "swap_id": r.swap_id, "day": r.day.isoformat(), "company_id": r.company_id, "customer_id": r.customer_id,
            "old_code": r.old_code, "new_code": r.new_code, "branch": r.branch, "age_years": r.age_years,
            "years_since_inspection": r.years_since_inspection, "user_pays_cny": cny(r.user_pays_fen),
            "deposit_cny": cny(r.deposit_fen), "company_pays_user_cny": cny(r.payout_fen), "topup_kg": r.topup_kg,
            "subsidy_cny": cny(r.subsidy_fen), "deposit_refunded_on": _iso(r.deposit_refunded_on),
            "returned_code": r.returned_code, "event_ids": list(r.event_ids),
        })
        sums["user_pays"] += r.user_pays_fen
        sums["deposit"] += r.deposit_fen
        sums["payout"] += r.payout_fen
        sums["subsidy"] += r.subsidy_fen
        if r.deposit_refunded_on is not None:
            sums["refunded"] += r.deposit_fen
        topup += r.topup_kg
    by_branch: dict[str, int] = {}
    for row in rows:
        by_branch[row["branch"]] = by_branch.get(row["branch"], 0) + 1
    totals = {"count": len(rows), "by_branch": by_branch, "user_pays_cny": cny(sums["user_pays"]),
              "deposit_cny": cny(sums["deposit"]), "deposit_refunded_cny": cny(sums["refunded"]),
              "deposit_held_cny": cny(sums["deposit"] - sums["refunded"]),
              "company_pays_user_cny": cny(sums["payout"]), "subsidy_cny": cny(sums["subsidy"]),
              "topup_kg": round(topup, 3)}
    return {"company_id": rng.company_id, "from": _iso(rng.start), "to": _iso(rng.end), "rows": rows,
            "totals": totals}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
