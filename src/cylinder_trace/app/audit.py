"""The audit log of unmasked reads: every answer that showed someone's full ID number, who got it and
when. Regulators (and admins) list it, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..store.tables import audit_log
from .principals import Principal
from .unit_of_work import Tx

#: an answer with a customer's registry entry unmasked (read, created or changed)
CUSTOMER_UNMASKED: Final = "customer.read_unmasked"
#: a cylinder history whose event data held ID numbers (a scrap's hand-in person …), shown unmasked
HISTORY_UNMASKED: Final = "history.read_unmasked"


async def record_unmasked_read(tx: Tx, principal: Principal, subject: str, action: str = CUSTOMER_UNMASKED) -> None:
    """Keep one read of unmasked personal data: who, when, whose."""
    await tx.conn.execute(sa.insert(audit_log).values(at=tx.now, principal_id=principal.id, action=action,
                                                      subject=subject))


@dataclass(frozen=True, slots=True)
class AuditFilter:
    principal_id: str | None = None
    subject: str | None = None
    since: datetime | None = None
    before_id: int | None = None
    limit: int = 50


async def audit_page(conn: AsyncConnection, caller: Principal, f: AuditFilter) -> tuple[list[dict[str, Any]],
                                                                                      int | None]:
    """A page of the log, newest first, and the id to continue before (None at the end)."""
    caller.require("admin", "regulator")
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(f.limit + 1)
    for column, value in (("principal_id", f.principal_id), ("subject", f.subject)):
        if value is not None:
            query = query.where(audit_log.c[column] == value)
    if f.since is not None:
        query = query.where(audit_log.c.at >= f.since)
    if f.before_id is not None:
        query = query.where(audit_log.c.id < f.before_id)
    rows = (await conn.execute(query)).all()
    page = rows[: f.limit]
    items = [{"id": r.id, "at": r.at.isoformat(), "principal_id": r.principal_id, "action": r.action,
              "subject": r.subject} for r in page]
    return items, (page[-1].id if len(rows) > f.limit else None)
