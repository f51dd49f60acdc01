"""Public reports (举报, seed 三(六)1): anyone may report an illegal dealer or a suspicious cylinder.

A report is an event on its own stream ``report:<id>`` carrying a ``PUBLIC_REPORT`` violation, so the
findings ledger opens a finding for it the way it does for any rule (``domain/findings.py``): on the
cylinder when the report names a valid, registered code (the cylinder's company is responsible),
else on ``report:<id>``. The reporter's contact stays in the report event, which only regulators
read; the finding carries the kind, the code and the description.

Reports are rate-limited per client: a hash of its address (never the address) is kept for the
length of the window and then deleted.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.codes import InvalidCode, parse_grai
from ..domain.events import PUBLIC_REPORT_RECEIVED, NewEvent
from ..domain.rules.reports import ReportKind, public_report
from ..store import event_store
from ..store.db import lock_name
from ..store.tables import report_submissions
from .errors import NotFound, RateLimited
from .principals import Principal
from .unit_of_work import Outcome, Tx

#: at most this many reports per client in the window
RATE_LIMIT: Final = 5
RATE_WINDOW: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class PublicReport:
    kind: ReportKind
    description: str
    code: str | None = None
    contact: str | None = None


def report_stream(report_id: str) -> str:
    return f"report:{report_id}"


def client_key(address: str) -> str:
    """What the rate limit remembers of a client: a hash of its address, not the address."""
    return hashlib.sha256(f"cylinder-trace:report-client:{address}".encode()).hexdigest()


async def _check_rate(tx: Tx, key: str) -> None:
    since = tx.now - RATE_WINDOW
    # the table only counts: a client's trace is kept no longer than the window (the reports are events)
    await tx.conn.execute(sa.delete(report_submissions).where(report_submissions.c.submitted_at <= since))
    rows = (await tx.conn.execute(
        sa.select(report_submissions.c.submitted_at)
        .where(report_submissions.c.client_key == key, report_submissions.c.submitted_at > since)
        .order_by(report_submissions.c.submitted_at))).all()
    if len(rows) >= RATE_LIMIT:
        retry = rows[len(rows) - RATE_LIMIT].submitted_at + RATE_WINDOW - tx.now
        minutes = int(RATE_WINDOW.total_seconds() // 60)
        raise RateLimited(f"at most {RATE_LIMIT} reports per {minutes} minutes from one client; please try later",
                          max(1, math.ceil(retry.total_seconds())))


async def submit_report(tx: Tx, report: PublicReport, client: str) -> Outcome:
    """Record a report and open its ``PUBLIC_REPORT`` finding; 201 with the report's id."""
    key = client_key(client)
    await lock_name(tx.conn, f"report-client:{key}")  # one report of a client at a time: it counts exactly
    await _check_rate(tx, key)
    report_id = str(uuid.uuid4())
    code, code_valid, state = report.code, False, None
    if code:
        try:
            code = parse_grai(code.strip()).code
            code_valid = True
        except InvalidCode:
            pass
    if code and code_valid:
        state = await tx.load_cylinder(code)
    violation = public_report(report_id, report.kind, code, state, report.description)
    registered, subj = state is not None, violation.subject
    data = {"report_id": report_id, "kind": report.kind, "code": code, "code_valid": code_valid,
            "code_registered": registered, "description": report.description, "contact": report.contact,
            "violations": [violation.to_json()]}
    stream = report_stream(report_id)
    await tx.load_stream(stream)
    await tx.record([NewEvent(PUBLIC_REPORT_RECEIVED, data, tx.now, stream)], event_id=report_id, actor="public")
    await tx.conn.execute(sa.insert(report_submissions).values(report_id=report_id, client_key=key,
                                                                submitted_at=tx.now))
    return Outcome(201, {"report_id": report_id, "kind": report.kind, "code": code, "subject": subj,
                         "received_at": tx.now.isoformat(), "status": "received"})


async def read_report(conn: AsyncConnection, caller: Principal, report_id: str) -> dict[str, Any]:
    """A report as received, the reporter's contact included (regulators and admins only)."""
    caller.require("admin", "regulator")
    history = await event_store.read_stream(conn, report_stream(report_id))
    if not history:
        raise NotFound("report", report_id)
    first = history[0]
    body = {k: v for k, v in first.data.items() if k != "violations"}
    body["received_at"] = first.recorded_at.isoformat()
    body["subject"] = first.data["violations"][0]["subject"]
    return body
