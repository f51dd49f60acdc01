"""Smart valves, the pure part: device status, sequence gaps and fill authorizations.

No I/O. The valve handlers load rows, hand them to these functions, and store what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, NamedTuple

#: event types the smart-valve side records in a cylinder's stream:
#: a lifecycle-relevant valve message (``data``: the message and its ``violations``)
VALVE_REPORTED: Final = "ValveReported"
#: the fill window check found a fill without its counterpart (``data["violations"]``)
VALVE_FILL_UNMATCHED: Final = "ValveFillUnmatched"

#: a valve reports ``battery_pct`` in these event types
BATTERY_EVENT_TYPES: Final = frozenset({"heartbeat", "low_battery"})


# --- device status -----------------------------------------------------------------------------------


class Report(NamedTuple):
    """What one stored event message tells about its valve's device status (a tuple: one is made for
    every message the ingestor stores)."""

    seq: int
    type: str
    received_at: datetime
    battery_pct: float | None = None
    rssi: float | None = None
    level_pct: float | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What the messages of one valve stored together tell about its device status."""

    valve_id: str
    last_seq: int
    last_seen: datetime
    #: the ``seq`` of the newest battery reading among them (0: none)
    battery_seq: int = 0
    battery_pct: float | None = None
    #: the ``seq`` of the newest reading that carried an ``rssi`` (0: none), and that ``rssi``
    rssi_seq: int = 0
    rssi: float | None = None
    #: the ``seq`` of the newest reading that carried a ``level_pct`` (0: none), and that level
    level_seq: int = 0
    level_pct: float | None = None


def summarize(valve_id: str, reports: Sequence[Report]) -> StatusReport:
    """One valve's reports (at least one) as a single :class:`StatusReport`: the highest ``seq``, the
    latest receipt, and each reading (battery, rssi, level) from the highest ``seq`` that carried it (the
    first of equals). One pass: the ingestor calls this for every valve of every batch."""
    if not reports:
        raise ValueError("nothing to summarize")
    first = reports[0]
    last_seq, last_seen = first.seq, first.received_at
    battery: Report | None = None
    rssi: Report | None = None
    level: Report | None = None
    for r in reports:
        if r.seq > last_seq:
            last_seq = r.seq
        if r.received_at > last_seen:
            last_seen = r.received_at
        if r.type not in BATTERY_EVENT_TYPES:
            continue
        if r.battery_pct is not None and (battery is None or r.seq > battery.seq):
            battery = r
        if r.rssi is not None and (rssi is None or r.seq > rssi.seq):
            rssi = r
        if r.level_pct is not None and (level is None or r.seq > level.seq):
            level = r
    return StatusReport(
        valve_id=valve_id, last_seq=last_seq, last_seen=last_seen,
        battery_seq=battery.seq if battery else 0, battery_pct=battery.battery_pct if battery else None,
        rssi_seq=rssi.seq if rssi else 0, rssi=rssi.rssi if rssi else None,
        level_seq=level.seq if level else 0, level_pct=level.level_pct if level else None,
    )


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A valve's device status (the missing ``seq`` ranges are read from the stored messages)."""

    #: the highest ``seq`` stored
    last_seq: int = 0
    last_seen: datetime | None = None
    battery_pct: float | None = None
    rssi: float | None = None
    level_pct: float | None = None
    #: the ``seq`` each reading came from: an older message never overwrites a newer reading
    battery_seq: int = 0
    rssi_seq: int = 0
    level_seq: int = 0
    #: what the status topic said last (``None``: nothing heard there yet)
    online: bool | None = None
    status_changed_at: datetime | None = None

    def merged(self, report: StatusReport) -> DeviceStatus:
        """The status after ``report``. Every field is a maximum (of ``seq``, of receipt time) or the
        value that came with one, so the result does not depend on the order reports arrive in, as long
        as a valve's ``seq`` are distinct (each ``(valve_id, seq)`` is stored once)."""
        battery = report.battery_seq > self.battery_seq
        rssi = report.rssi_seq > self.rssi_seq
        level = report.level_seq > self.level_seq
        return replace(
            self,
            last_seq=max(self.last_seq, report.last_seq),
            last_seen=report.last_seen if self.last_seen is None else max(self.last_seen, report.last_seen),
            battery_seq=report.battery_seq if battery else self.battery_seq,
            battery_pct=report.battery_pct if battery else self.battery_pct,
            rssi_seq=report.rssi_seq if rssi else self.rssi_seq,
            rssi=report.rssi if rssi else self.rssi,
            level_seq=report.level_seq if level else self.level_seq,
            level_pct=report.level_pct if level else self.level_pct,
        )

    def with_presence(self, online: bool, at: datetime) -> DeviceStatus:
        """The status topic (or the Last Will) said ``online``/``offline`` at ``at``."""
        if self.online == online:
            return self
        return replace(self, online=online, status_changed_at=at)

    def is_online(self, now: datetime, offline_after: timedelta) -> bool:
        """The status topic's word when there is one, else: heard from within ``offline_after``."""
        if self.online is not None:
            return self.online
        return self.last_seen is not None and now - self.last_seen < offline_after


def missing_ranges(seqs: Iterable[int]) -> list[list[int]]:
    """``[[first, last], …]`` (inclusive) of the ``seq`` numbers from 1 to the highest of ``seqs`` that
    are not among them: ``seq`` starts at 1 and rises by one per event, so each of these was lost or is
    late. The store computes the same from its index; this is the definition."""
    out: list[list[int]] = []
    expected = 1
    for seq in sorted(set(seqs)):
        if seq > expected:
            out.append([expected, seq - 1])
        expected = max(expected, seq + 1)
    return out


# --- fill authorizations -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Authorization:
    """An ``authorize_fill`` the service issued, and what became of it."""

    auth_id: str
    valve_id: str
    cylinder_code: str
    station_id: str
    issued_at: datetime
    expires: datetime
    #: the valve's clock at ``fill_started`` under this authorization
    started_at: datetime | None = None
    #: the valve's clock and ``seq`` of the ``fill_completed`` that used it
    used_at: datetime | None = None
    used_seq: int | None = None


class FillVerdict(StrEnum):
    AUTHORIZED = "authorized"
    NEVER_ISSUED = "never_issued"
    EXPIRED = "expired"
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class FillJudgement:
    verdict: FillVerdict
    #: the authorization as it is after this fill (None: nothing to store)
    updated: Authorization | None = None

    @property
    def legal(self) -> bool:
        return self.verdict is FillVerdict.AUTHORIZED


def judge_fill_started(auth: Authorization | None, valve_id: str, ts: datetime) -> Authorization | None:
    """A ``fill_started``: remember when the fill began, the reference for the expiry check."""
    if auth is None or auth.valve_id != valve_id or auth.started_at is not None:
        return None
    return replace(auth, started_at=ts)


def judge_fill_completed(auth: Authorization | None, valve_id: str, seq: int, ts: datetime) -> FillJudgement:
    """A ``fill_completed`` naming ``auth``: legal only under an authorization issued to this valve,
    begun before it expired (the ``fill_started`` time, else the completion time), and not used before.
    """
    if auth is None or auth.valve_id != valve_id:
        return FillJudgement(FillVerdict.NEVER_ISSUED)
    if auth.used_seq is not None and auth.used_seq != seq:
        return FillJudgement(FillVerdict.REUSED)
    began = auth.started_at or ts
    if began > auth.expires:
        return FillJudgement(FillVerdict.EXPIRED)
    return FillJudgement(FillVerdict.AUTHORIZED, replace(auth, used_at=ts, used_seq=seq))


def window_bounds(at: datetime, window: timedelta) -> tuple[datetime, datetime]:
    """The interval in which a matching record must lie: ``at`` ± ``window``."""
    return at - window, at + window
