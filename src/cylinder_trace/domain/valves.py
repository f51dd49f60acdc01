"""Smart valves, the pure part: sequence gaps, device status and fill authorizations.

No I/O. The ingestor loads rows, hands them to these functions, and stores what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

#: event types the smart-valve side records in a cylinder's stream:
#: a lifecycle-relevant valve message (``data``: the message and its ``violations``)
VALVE_REPORTED: Final = "ValveReported"
#: the fill window check found a fill without its counterpart (``data["violations"]``)
VALVE_FILL_UNMATCHED: Final = "ValveFillUnmatched"

#: ``[first, last]``, both inclusive
SeqRange = tuple[int, int]

#: a valve reports ``battery_pct`` in these event types
BATTERY_EVENT_TYPES: Final = frozenset({"heartbeat", "low_battery"})


# --- sequence gaps -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeqGaps:
    """Which ``seq`` numbers of a valve are missing, given every one stored so far.

    ``seq`` starts at 1 and rises by one per event, so everything below ``last_seq`` that was never
    stored is missing. A late (lower) ``seq`` fills its hole; a ``seq`` above ``last_seq + 1`` opens a
    new range. Ranges are kept sorted, disjoint and non-adjacent.
    """

    last_seq: int = 0
    missing: tuple[SeqRange, ...] = ()

    def add(self, seqs: Iterable[int]) -> SeqGaps:
        last = self.last_seq
        ranges = list(self.missing)
        for seq in sorted(set(seqs)):
            if seq > last:
                if seq > last + 1:
                    ranges.append((last + 1, seq - 1))
                last = seq
            else:
                ranges = _remove(ranges, seq)
        return SeqGaps(last, tuple(ranges))

    @property
    def missing_count(self) -> int:
        return sum(b - a + 1 for a, b in self.missing)

    def missing_json(self) -> list[list[int]]:
        return [[a, b] for a, b in self.missing]

    @staticmethod
    def from_json(last_seq: int | None, missing: Sequence[Sequence[int]] | None) -> SeqGaps:
        return SeqGaps(last_seq or 0, tuple((int(a), int(b)) for a, b in (missing or ())))


def _remove(ranges: list[SeqRange], seq: int) -> list[SeqRange]:
    out: list[SeqRange] = []
    for a, b in ranges:
        if a <= seq <= b:
            if a < seq:
                out.append((a, seq - 1))
            if seq < b:
                out.append((seq + 1, b))
        else:
            out.append((a, b))
    return out


# --- device status -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    """What one stored event message tells about its valve's device status."""

    seq: int
    type: str
    received_at: datetime
    battery_pct: float | None = None
    rssi: float | None = None
    level_pct: float | None = None


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A valve's device status, as the ``GET /api/v1/valves/{id}`` answer shows it."""

    gaps: SeqGaps = SeqGaps()
    last_seen: datetime | None = None
    battery_pct: float | None = None
    rssi: float | None = None
    level_pct: float | None = None
    #: the ``seq`` the battery reading came from: an older message never overwrites a newer reading
    battery_seq: int = 0
    #: what the status topic said last (``None``: nothing heard there yet)
    online: bool | None = None
    status_changed_at: datetime | None = None

    def with_reports(self, reports: Sequence[Report]) -> DeviceStatus:
        status = replace(self, gaps=self.gaps.add(r.seq for r in reports))
        for r in reports:
            if status.last_seen is None or r.received_at > status.last_seen:
                status = replace(status, last_seen=r.received_at)
            if r.type in BATTERY_EVENT_TYPES and r.battery_pct is not None and r.seq > status.battery_seq:
                status = replace(
                    status, battery_pct=r.battery_pct, battery_seq=r.seq,
                    rssi=r.rssi if r.rssi is not None else status.rssi,
                    level_pct=r.level_pct if r.level_pct is not None else status.level_pct,
                )
        return status

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
