"""The planner: every airing in a range, with blackouts applied per zone. Pure: no clock inside.

The player and the `plan` preview both call `airings_between`, so they cannot disagree
(DESIGN.md §2.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from controller.config.models import WEEKDAYS, BlackoutConfig, Config, SlotConfig
from controller.core.airing_id import AiringId
from controller.core.stationtime import aware, iso
from controller.core.stationtime import days as station_days

ZoneStatus = Literal["scheduled", "cut", "blackout"]

# The priority ladder (DESIGN.md §2.7): a higher airing takes the air from a lower one.
SCHEDULE_PRIORITY = 50
MANUAL_PRIORITY = 70
POLICE_PRIORITY = 80
EMERGENCY_PRIORITY = 100
# The years the station plans in; dates far outside would only overflow the calendar arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2199


@dataclass(frozen=True)
class Blackout:
    """A quiet period. `zones` None means every zone."""

    name: str
    start: datetime
    end: datetime
    zones: frozenset[str] | None = None
    reason: str = ""
    threshold: int = 100  # airings below this priority are silenced; emergencies (100) pass

    def covers_zone(self, zone: str) -> bool:
        return self.zones is None or zone in self.zones

    def silences(self, priority: int) -> bool:
        return priority < self.threshold


@dataclass(frozen=True)
class ZonePlan:
    """One zone of an airing: on air from the airing's start until `end`.

    `cut`: a blackout starts inside the airing; the zone goes silent at `end` (its start).
    `blackout`: a blackout already holds the zone at the airing's start; it stays silent for
    the whole airing (it does not join half-way when the blackout ends).
    """

    zone: str
    status: ZoneStatus
    end: datetime
    blackout: str | None = None


Source = Literal["schedule", "manual", "emergency"]


@dataclass(frozen=True)
class Airing:
    """One airing: a slot's, or an override's (manual or emergency) from the API.

    `playlist` names a playlist; an override may instead list library clip ids in `clips`
    (then `playlist` is only its label). `gap_s` overrides the gap between clips (an
    emergency's repeat interval).
    """

    id: str
    slot: str
    start: datetime
    end: datetime
    playlist: str
    zones: tuple[ZonePlan, ...]
    priority: int = SCHEDULE_PRIORITY
    source: Source = "schedule"
    clips: tuple[str, ...] = ()
    gap_s: float | None = None
    exercise: bool = False
    reason: str = ""
    fitted: bool = False  # an override as long as its clips × repeats: fade in the last gap

    @property
    def on_air_zones(self) -> tuple[ZonePlan, ...]:
        return tuple(z for z in self.zones if z.status != "blackout")

    @property
    def audio_end(self) -> datetime:
        """When audio stops: the last zone's end (the planned end unless blackouts cut it)."""
        ends = [z.end for z in self.on_air_zones]
        return max(ends) if ends else self.start

    @property
    def status(self) -> ZoneStatus:
        statuses = {z.status for z in self.zones}
        if statuses == {"blackout"}:
            return "blackout"
        return "cut" if statuses - {"scheduled"} else "scheduled"

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


def blackouts_from_config(config: Config) -> list[Blackout]:
    return [_blackout(b, config) for b in config.blackouts]


def _blackout(b: BlackoutConfig, config: Config) -> Blackout:
    tz = config.station.tz
    start, end = aware(b.start, tz), aware(b.end, tz)
    zones = None if b.zones == "all" else frozenset(b.zones)
    return Blackout(b.name, start, end, zones, b.reason, b.threshold)


def slot_zones(config: Config, slot: SlotConfig) -> list[str]:
    return [z.id for z in config.zones] if slot.zones == "all" else list(slot.zones)


def airing_id(slot: str, start: datetime) -> str:
    return str(AiringId.for_slot(slot, start))


def plan_zone(
    zone: str,
    start: datetime,
    end: datetime,
    blackouts: Iterable[Blackout],
    priority: int = SCHEDULE_PRIORITY,
) -> ZonePlan:
    """The zone's fate in [start, end): the earliest blackout that meets it and silences an
    airing of this priority decides."""
    hits = [
        b
        for b in blackouts
        if b.covers_zone(zone) and b.start < end and b.end > start and b.silences(priority)
    ]
    if not hits:
        return ZonePlan(zone, "scheduled", end)
    first = min(hits, key=lambda b: (b.start, b.name))
    if first.start <= start:
        return ZonePlan(zone, "blackout", start, first.name)
    return ZonePlan(zone, "cut", first.start, first.name)


def airings_between(
    config: Config, blackouts: Sequence[Blackout], begin: datetime, until: datetime
) -> list[Airing]:
    """Every airing whose start lies in [begin, until), in start order."""
    tz = config.station.tz
    first_day = begin.astimezone(tz).date() - timedelta(days=1)
    last_day = until.astimezone(tz).date()
    out: list[Airing] = []
    day = first_day
    while day <= last_day:
        for slot in config.schedule.slots:
            if slot.days != "daily" and WEEKDAYS[day.weekday()] not in slot.days:
                continue
            # The slot's start on the station's wall clock names the airing; inside, its
            # instants are UTC, so its length is real time even across a clock change
            # (arithmetic and comparison of two times in one zone are wall-clock arithmetic).
            local = datetime.combine(day, slot.start, tzinfo=tz)
            start = local.astimezone(UTC)
            if not begin <= start < until:
                continue
            end = start + timedelta(seconds=slot.duration)
            zones = tuple(plan_zone(z, start, end, blackouts) for z in slot_zones(config, slot))
            out.append(
                Airing(airing_id(slot.name, local), slot.name, start, end, slot.playlist, zones)
            )
        day += timedelta(days=1)
    out.sort(key=lambda a: (a.start, a.slot))
    return out


def plan(config: Config, blackouts: Sequence[Blackout], start: date, days: int) -> list[Airing]:
    """Every airing starting on the `days` station-calendar days from `start`."""
    begin, until = station_days(start, start + timedelta(days=days - 1), config.station.tz)
    return airings_between(config, blackouts, begin, until)


def airing_to_dict(airing: Airing, tz: tzinfo) -> dict[str, object]:
    """The JSON shape used by `plan --json` and `GET /api/plan`, every time in the station's
    zone `tz` (instants inside are UTC)."""
    zone = tz
    return {
        "id": airing.id,
        "slot": airing.slot,
        "start": iso(airing.start, zone),
        "end": iso(airing.end, zone),
        "playlist": airing.playlist,
        "status": airing.status,
        "priority": airing.priority,
        "source": airing.source,
        "exercise": airing.exercise,
        "zones": [
            {
                "zone": z.zone,
                "status": z.status,
                "end": iso(z.end, zone),
                "blackout": z.blackout,
            }
            for z in airing.zones
        ],
    }
