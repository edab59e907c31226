"""The compliance report: per zone per station day, planned against aired minutes. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from controller.core.airing_id import AiringId
from controller.core.stationtime import local_day
from controller.records.asrun_row import FULL_AIRINGS
from controller.records.asrun_store import AsRunRow

AIRED_OUTCOMES = frozenset({"aired", "joined", "resumed", "cut", "preempted", "stopped"})
FULL = FULL_AIRINGS
LOSS_KINDS = (
    "blacked_out", "missed", "failed", "cut", "preempted", "stopped", "aired", "joined", "open"
)  # fmt: skip


@dataclass
class ZoneDay:
    """One zone on one station day; minutes as floats, `lost` split by the row's outcome
    (`open` for rows still on air or never closed)."""

    day: date
    zone: str
    planned_min: float = 0.0
    aired_min: float = 0.0
    confirmed_min: float = 0.0
    extra_min: float = 0.0  # manual and emergency airings: on top of the plan
    lost: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def lost_min(self) -> float:
        return sum(self.lost.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "date": self.day.isoformat(),
            "zone": self.zone,
            "planned_min": round(self.planned_min, 3),
            "aired_min": round(self.aired_min, 3),
            "confirmed_min": round(self.confirmed_min, 3),
            "extra_min": round(self.extra_min, 3),
            "lost_min": round(self.lost_min, 3),
            "lost": {k: round(v, 3) for k, v in self.lost.items()},
            "reasons": list(self.reasons),
        }


def _minutes(begin: datetime | None, end: datetime | None) -> float:
    if begin is None or end is None:
        return 0.0
    seconds = (end - begin).total_seconds()
    return max(seconds, 0.0) / 60.0


def compliance(rows: Sequence[AsRunRow], tz: tzinfo) -> list[ZoneDay]:
    """Sum the rows per (station-local day of planned start in `tz`, zone), in day then zone
    order.

    Only slots are planned: an airing and its resumed segments (`<id>#r<n>`) count once, with
    their aired minutes added up; manual and emergency airings count as `extra_min`.
    planned: planned_start→planned_end; aired: audio_start→audio_end of rows whose outcome says
    audio went out (aired, joined, resumed, cut, preempted, stopped); confirmed: the aired
    minutes of rows whose relay_on is `confirmed`; lost: planned − aired (never negative),
    filed under the first segment outcome that is not a full airing.
    """
    days: dict[tuple[date, str], ZoneDay] = {}
    segments: dict[tuple[str, str], list[AsRunRow]] = {}
    for r in rows:
        segments.setdefault((AiringId.base_of(r.airing_id), r.zone), []).append(r)
    for segs in segments.values():
        first = segs[0]
        day = local_day(first.planned_start, tz)
        entry = days.setdefault((day, first.zone), ZoneDay(day, first.zone))
        aired_each = [
            _minutes(r.audio_start, r.audio_end) if r.outcome in AIRED_OUTCOMES else 0.0
            for r in segs
        ]
        if first.source != "schedule":
            entry.extra_min += sum(aired_each)
            continue
        planned = _minutes(first.planned_start, first.planned_end)
        aired = min(sum(aired_each), planned)
        confirmed = sum(
            a for a, r in zip(aired_each, segs, strict=True) if r.relay_on == "confirmed"
        )
        entry.planned_min += planned
        entry.aired_min += aired
        entry.confirmed_min += min(confirmed, aired)
        lost = planned - aired
        if lost > 0:
            kinds = [r.outcome or "open" for r in segs]
            kind = next((k for k in kinds if k not in FULL), kinds[0])
            entry.lost[kind] = entry.lost.get(kind, 0.0) + lost
            for r in segs:
                if r.reason and r.reason not in entry.reasons:
                    entry.reasons.append(r.reason)
    return [days[k] for k in sorted(days)]


def compliance_csv(report: Sequence[ZoneDay]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    lost_cols = [f"lost_{k}_min" for k in LOSS_KINDS]
    header = ["date", "zone", "planned_min", "aired_min", "confirmed_min", "extra_min", "lost_min"]
    writer.writerow([*header, *lost_cols, "reasons"])
    for z in report:
        d = z.to_dict()
        lost = z.lost
        writer.writerow(
            [
                *(d[c] for c in header),
                *(round(lost.get(k, 0.0), 3) for k in LOSS_KINDS),
                "; ".join(z.reasons),
            ]
        )
    return out.getvalue()
