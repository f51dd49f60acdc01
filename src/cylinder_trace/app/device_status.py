"""A valve's device status: brought up to date by each batch of its messages, read for the valve
registry (API.md, Devices).

How a status changes is decided by :class:`cylinder_trace.domain.valves.DeviceStatus` alone
(:meth:`~cylinder_trace.domain.valves.DeviceStatus.merged` for what the messages tell,
:meth:`~cylinder_trace.domain.valves.DeviceStatus.with_presence` for the status topic): a batch loads the
rows of the valves it heard from, locked, applies those rules and stores the rows back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.valves import DeviceStatus, StatusReport
from ..store.valve_messages import read_missing
from ..store.valve_status import lock_statuses, read_status, save_statuses
from ..store.valves import cylinder_of_valve


def latest_presence(items: Iterable[tuple[str, bool, datetime]]) -> dict[str, tuple[bool, datetime]]:
    """The last word of the status topic per valve, in arrival order."""
    out: dict[str, tuple[bool, datetime]] = {}
    for valve_id, online, at in items:
        out[valve_id] = (online, at)
    return out


def updated_statuses(
    current: Mapping[str, DeviceStatus], reports: Mapping[str, StatusReport],
    presence: Mapping[str, tuple[bool, datetime]],
) -> dict[str, DeviceStatus]:
    """Each valve's status after a batch told ``reports`` (one summary per valve) and ``presence``."""
    out: dict[str, DeviceStatus] = {}
    for valve_id in sorted(set(reports) | set(presence)):
        status = current.get(valve_id, DeviceStatus())
        if valve_id in reports:
            status = status.merged(reports[valve_id])
        if valve_id in presence:
            status = status.with_presence(*presence[valve_id])
        out[valve_id] = status
    return out


async def record_statuses(conn: AsyncConnection, reports: Mapping[str, StatusReport],
                          presence: Mapping[str, tuple[bool, datetime]]) -> None:
    """Bring the status of every valve a batch heard from up to date, in the batch's transaction."""
    valve_ids = sorted(set(reports) | set(presence))
    if not valve_ids:
        return
    current = await lock_statuses(conn, valve_ids)
    await save_statuses(conn, updated_statuses(current, reports, presence))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def device_status(
    conn: AsyncConnection, valve_id: str, *, now: datetime, offline_after: timedelta
) -> dict[str, Any]:
    """``{valve_id, cylinder_code, online, last_seen, battery_pct, last_seq, missing_seq_ranges, …}``
    (API.md, Devices). A valve never heard from is offline with nothing seen."""
    status = await read_status(conn, valve_id)
    missing = await read_missing(conn, valve_id)
    return {
        "valve_id": valve_id,
        "cylinder_code": await cylinder_of_valve(conn, valve_id),
        "online": status.is_online(now, offline_after),
        "last_seen": _iso(status.last_seen),
        "battery_pct": status.battery_pct,
        "last_seq": status.last_seq or None,
        "missing_seq_ranges": missing,
        "missing_seq_count": sum(last - first + 1 for first, last in missing),
        "rssi": status.rssi,
        "level_pct": status.level_pct,
        "status_changed_at": _iso(status.status_changed_at),
    }
