"""Reading the dead-letter table: what the valve side could not accept, newest first."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..store.valve_messages import dead_letter_rows


def payload_view(payload: bytes) -> dict[str, Any]:
    """The raw message as text (UTF-8; a few invalid bytes replaced), or as base64 when it is not text
    (binary, control characters, or mostly undecodable)."""
    text = payload.decode("utf-8", "replace")
    replaced = text.count("\ufffd") - payload.decode("utf-8", "ignore").count("\ufffd")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r")
    if controls == 0 and replaced * 10 <= max(len(text), 1):
        return {"payload": text, "payload_encoding": "utf-8"}
    return {"payload": base64.b64encode(payload).decode("ascii"), "payload_encoding": "base64"}


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    items: list[dict[str, Any]]
    #: the id to continue below, None on the last page
    next_before: int | None


async def dead_letter_page(
    conn: AsyncConnection, *, limit: int, before: int | None = None, kind: str | None = None,
    valve_id: str | None = None,
) -> DeadLetterPage:
    """Newest first; ``before`` is the id the previous page ended at."""
    rows = await dead_letter_rows(conn, limit=limit + 1, before=before, kind=kind, valve_id=valve_id)
    page = rows[:limit]
    items = [{
        "id": r.id, "received_at": r.received_at.isoformat(), "topic": r.topic, "kind": r.kind,
        "reason": r.reason, "valve_id": r.valve_id, "size": len(r.payload), **payload_view(r.payload),
    } for r in page]
    return DeadLetterPage(items, page[-1].id if len(rows) > limit else None)
