"""Money and care ledgers as a catch-up projection over the events.

* ``subsidy_lines``: one row per event that earned a subsidy (``data.subsidy``, decided by the core);
* ``swap_ledger``: one row per 产权置换, with its money lines and the deposit refund;
* ``customer_checks``: each customer's latest in-home safety check (delivery or stand-alone).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events as ev
from ..domain.dates import local_day
from ..domain.swaps import SWAP_DEPOSIT_REFUNDED, SWAP_EXECUTED
from ..store.db import Write, any_of, upsert, upsert_many
from ..store.event_store import RecordedEvent
from ..store.tables import customer_checks, subsidy_lines, swap_ledger


def fen(amount_cny: Any) -> int:
    return round(float(amount_cny or 0) * 100)


class LedgersProjection:
    name = "ledgers"

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.timezone = timezone

    @property
    def tables(self) -> Sequence[sa.Table]:
        return (subsidy_lines, swap_ledger, customer_checks)

    def writes(self, events: Sequence[RecordedEvent], known: MutableMapping[str, Any]) -> list[Write] | None:
        """Nothing to write when no event earns a subsidy, is part of a swap or records a safety check; others
        are applied after reading what they change."""
        return None if any(self._concerns(e) for e in events) else []

    @staticmethod
    def _concerns(event: RecordedEvent) -> bool:
        d = event.data
        return (isinstance(d.get("subsidy"), dict) or event.stream_id.startswith("swap:")
                or event.type in (SWAP_EXECUTED, SWAP_DEPOSIT_REFUNDED, ev.SAFETY_CHECK_RECORDED)
                or (event.type == ev.CYLINDER_DELIVERED and bool((d.get("safety_check") or {}).get("performed"))))

    async def apply_events(self, conn: AsyncConnection, events: Sequence[RecordedEvent],
                           known: MutableMapping[str, Any] | None = None) -> None:
        lines: list[dict[str, Any]] = []
        checked: dict[str, tuple[date, str]] = {}
        for event in events:
            d = event.data
            subsidy = d.get("subsidy")
            if isinstance(subsidy, dict) and not event.type.endswith(ev.REFUSED_SUFFIX):
                lines.append(self._subsidy_line(event, subsidy))
            if event.type == SWAP_EXECUTED:
                await self._swap(conn, event)
            elif event.type == SWAP_DEPOSIT_REFUNDED:
                await conn.execute(sa.update(swap_ledger).where(swap_ledger.c.swap_id == d["swap_id"]).values(
                    deposit_refunded_on=date.fromisoformat(d["day"]), returned_code=d.get("returned_code")))
                await self._add_event_id(conn, d["swap_id"], event.event_id)
            elif event.stream_id.startswith("swap:"):
                await self._add_event_id(conn, d.get("swap_id", ""), event.event_id)
            with_check = event.type == ev.CYLINDER_DELIVERED and (d.get("safety_check") or {}).get("performed")
            if with_check or event.type == ev.SAFETY_CHECK_RECORDED:
                day = local_day(event.occurred_at, self.timezone)
                latest = checked.get(d["customer_id"])
                if latest is None or day > latest[0]:
                    checked[d["customer_id"]] = (day, event.event_id)
        await upsert_many(conn, subsidy_lines, ["event_id"], lines)
        await self._checked(conn, checked)

    def _subsidy_line(self, event: RecordedEvent, s: dict[str, Any]) -> dict[str, Any]:
        day = date.fromisoformat(s["day"])
        code = event.stream_id.removeprefix("cylinder:") if event.stream_id.startswith("cylinder:") else None
        return {
            "event_id": event.event_id, "company_id": s["company_id"], "kind": s["kind"], "day": day,
            "month": f"{day.year:04d}-{day.month:02d}", "amount_fen": fen(s["amount_cny"]),
            "code": code or event.data.get("old_code"), "valve_id": event.data.get("valve_id"),
            "basis": s.get("basis"),
        }

    async def _swap(self, conn: AsyncConnection, event: RecordedEvent) -> None:
        d = event.data
        basis = d.get("basis") or {}
        await upsert(conn, swap_ledger, ["swap_id"], {
            "swap_id": d["swap_id"], "position": event.position, "company_id": d["company_id"],
            "customer_id": d["customer_id"],
            "day": date.fromisoformat(d["day"]), "old_code": d["old_code"], "new_code": d["new_code"],
            "branch": d["branch"], "age_years": int(basis.get("age_years", 0)),
            "years_since_inspection": int(basis.get("years_since_inspection", 0)),
            "user_pays_fen": fen(d.get("user_pays_cny")), "deposit_fen": fen(d.get("deposit_cny")),
            "payout_fen": fen(d.get("company_pays_user_cny")), "subsidy_fen": fen(d.get("subsidy_cny")),
            "topup_kg": float(d.get("topup_kg") or 0), "deposit_refunded_on": None, "returned_code": None,
            "event_ids": [event.event_id],
        })

    async def _add_event_id(self, conn: AsyncConnection, swap_id: str, event_id: str) -> None:
        row = (await conn.execute(sa.select(swap_ledger.c.event_ids).where(swap_ledger.c.swap_id == swap_id))).first()
        if row is None or event_id in row.event_ids:
            return
        await conn.execute(sa.update(swap_ledger).where(swap_ledger.c.swap_id == swap_id).values(
            event_ids=[*row.event_ids, event_id]))

    @staticmethod
    async def _checked(conn: AsyncConnection, checked: dict[str, tuple[date, str]]) -> None:
        """Each customer's latest check: a batch's checks replace only older ones."""
        if not checked:
            return
        rows = await conn.execute(sa.select(customer_checks.c.customer_id, customer_checks.c.last_check_on).where(
            any_of(conn, customer_checks.c.customer_id, sorted(checked))))
        known = {r.customer_id: r.last_check_on for r in rows}
        await upsert_many(conn, customer_checks, ["customer_id"], [
            {"customer_id": customer, "last_check_on": day, "last_event_id": event_id}
            for customer, (day, event_id) in sorted(checked.items())
            if customer not in known or known[customer] < day])
